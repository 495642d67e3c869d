/**
 * `npm run bench:subscriptions [-- --quick] [-- --json] [-- --no-cluster] [-- --no-reference]`: many live
 * subscriptions on one messenger, two ways side by side in one run on one throwaway
 * redis-server (and on a 3-shard cluster):
 * - ours: every subscription on the messenger's shared subscriber (src/redis/subscriber.ts);
 * - reference: one pub/sub connection per subscription, the design before it (below).
 * Measured: Redis connections used, time to open them all, Node heap per subscription,
 * delivery latency p50/p99 at 2,000 messages a second spread over them, and whether 5,000
 * open/close cycles leave connections and heap flat. Run with --expose-gc (the npm script
 * does) so that heap figures are measured after a collection.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { createClient, createCluster, type RedisClientType } from 'redis';
import { createOutput } from '../src/cli/output.js';
import { parseBell } from '../src/core/doorbell.js';
import { type KeyLayout, Keys } from '../src/core/keys.js';
import { RedisMessenger } from '../src/index.js';
import { openClient, type RedisClient } from '../src/redis/connect.js';
import { keySlot } from '../src/redis/key-slot.js';
import { startRedisCluster } from '../test/support/redis-cluster.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { benchFlags } from './flags.js';
import { median, percentile } from './measure.js';
import { text } from './workloads.js';

const flags = benchFlags(
  [
    'usage: npm run bench:subscriptions -- [--quick] [--json] [--no-cluster] [--no-reference]',
    '  --quick          2,000 subscriptions instead of 10,000, shorter runs',
    '  --json           the figures as JSON instead of tables',
    '  --no-cluster     one redis-server only',
    '  --no-reference   ours only, without one connection per subscription beside it',
  ].join('\n'),
  {
    quick: { type: 'boolean' },
    json: { type: 'boolean' },
    'no-cluster': { type: 'boolean' },
    'no-reference': { type: 'boolean' },
  },
);
const quick = flags.quick === true;
const asJson = flags.json === true;
const withCluster = flags['no-cluster'] !== true;
/** Ours only: the reference's thousands of connections fail their handshakes on a loaded machine. */
const withReference = flags['no-reference'] !== true;
const size = {
  subscriptions: quick ? 2000 : 10_000,
  /** The reference opens a connection each: fewer on a cluster, where each costs more. */
  referenceOnCluster: 1000,
  rate: 2000,
  seconds: quick ? 2 : 5,
  cycles: 5000,
};

const gc = (globalThis as { gc?: () => void }).gc;
function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A live subscription as either way opens one. */
interface Opened {
  close(): Promise<void>;
}

interface Way {
  name: 'ours' | 'reference';
  subscribe(user: string, handler: (id: string) => void): Promise<Opened>;
}

/** Ours: the messenger's subscribe. */
function oursOn(messenger: RedisMessenger): Way {
  return {
    name: 'ours',
    subscribe: (user, handler) => messenger.subscribe(user, (message) => handler(message.id)),
  };
}

/**
 * The reference: what subscribe did before the shared subscriber, reduced to its cost: a
 * connection of its own per subscription (node-redis, as the messenger opens them),
 * SUBSCRIBE (SSUBSCRIBE on the master of the channel's slot), and the doorbell parsed for
 * every message. (It leaves out the catch-up reads, which both ways do alike.)
 */
function referenceOn(urlOf: (channel: string) => string, keys: Keys, sharded: boolean): Way {
  return {
    name: 'reference',
    async subscribe(user, handler) {
      const channel = keys.inboxChannel(user);
      const client: RedisClient = await openClient({
        url: urlOf(channel),
        connectTimeoutMs: 10_000,
      });
      const listener = (raw: string) => {
        const bell = parseBell(raw);
        if (bell?.kind === 'received') handler(bell.message.id);
      };
      await (sharded ? client.sSubscribe(channel, listener) : client.subscribe(channel, listener));
      return { close: () => client.close() };
    },
  };
}

interface Figures {
  way: string;
  deployment: string;
  subscriptions: number;
  /** Redis connections the messenger (and the way's subscriptions) held, from the server side. */
  connections: number;
  openSeconds: number;
  heapPerSubscriptionBytes: number;
  deliveredP50Ms: number;
  deliveredP99Ms: number;
  delivered: number;
  sent: number;
  /** After the open/close cycles: connections and heap compared with before them. */
  cycleConnectionsBefore?: number;
  cycleConnectionsAfter?: number;
  cycleHeapGrowthBytes?: number;
}

interface Deployment {
  label: string;
  layout: KeyLayout;
  /** Clients connected to every master together, from INFO. */
  connections(): Promise<number>;
  messenger(): Promise<RedisMessenger>;
  reference(keys: Keys): Way;
  stop(): Promise<void>;
}

async function connectedClients(nodes: RedisClientType[]): Promise<number> {
  let total = 0;
  for (const node of nodes) {
    const info = await node.info('clients');
    total += Number(/connected_clients:(\d+)/.exec(info)?.[1]);
  }
  return total;
}

async function standalone(): Promise<Deployment> {
  const server = await startRedisServer(['--maxclients', '20000']);
  const probe: RedisClientType = createClient({ url: server.url });
  await probe.connect();
  return {
    label: 'one Redis',
    layout: 'standalone',
    connections: () => connectedClients([probe]),
    messenger: () => RedisMessenger.connect({ url: server.url, commandTimeoutMs: 30_000 }),
    reference: (keys) => referenceOn(() => server.url, keys, false),
    async stop() {
      await probe.close();
      await server.stop();
    },
  };
}

async function cluster(): Promise<Deployment> {
  const running = await startRedisCluster({ masters: 3, args: ['--maxclients', '20000'] });
  const probes = await Promise.all(
    running.nodes.map(async (node) => {
      const client: RedisClientType = createClient({ url: node.url });
      await client.connect();
      return client;
    }),
  );
  const urls = [...running.urls];
  // Where the reference connects for a channel: the master of its slot.
  const router = createCluster({ rootNodes: urls.map((url) => ({ url })) });
  await router.connect();
  const urlOf = (channel: string) => {
    const { host, port } = router.getSlotMaster(keySlot(channel));
    return `redis://${host}:${port}`;
  };
  return {
    label: 'cluster, 3 shards',
    layout: 'cluster',
    connections: () => connectedClients(probes),
    messenger: () => RedisMessenger.connect({ cluster: urls, commandTimeoutMs: 30_000 }),
    reference: (keys) => referenceOn(urlOf, keys, true),
    async stop() {
      await router.close();
      await Promise.all(probes.map((probe) => probe.close()));
      await running.stop();
    },
  };
}

/** Opens `count` subscriptions, `inFlight` at a time; resolves with them and the seconds it took. */
async function openAll(
  way: Way,
  users: string[],
  onMessage: (id: string) => void,
  inFlight: number,
): Promise<{ opened: Opened[]; seconds: number }> {
  const opened: Opened[] = [];
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < users.length) {
        const user = users[next++] as string;
        opened.push(await way.subscribe(user, onMessage));
      }
    }),
  );
  return { opened, seconds: (performance.now() - started) / 1000 };
}

async function measure(
  deployment: Deployment,
  wayName: Way['name'],
  count: number,
): Promise<Figures> {
  const idle = await deployment.connections();
  const messenger = await deployment.messenger();
  try {
    const keys = new Keys(undefined, deployment.layout);
    const sender = await messenger.createUser(`sender-${randomUUID().slice(0, 20)}`);
    const users: string[] = [];
    for (let i = 0; i < count; i += 500) {
      users.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(500, count - i) }, () =>
            messenger.createUser(`s-${randomUUID().slice(0, 24)}`),
          ),
        )),
      );
    }
    const way = wayName === 'ours' ? oursOn(messenger) : deployment.reference(keys);
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    const onMessage = (id: string) => {
      const start = sentAt.get(id);
      if (start !== undefined) latencies.push(performance.now() - start);
    };
    const heapBefore = heapUsed();
    const { opened, seconds } = await openAll(way, users, onMessage, 100);
    const heapAfter = heapUsed();
    const connections = (await deployment.connections()) - idle;

    // 2,000 messages a second, 20 every 10 ms, each to a random subscribed user.
    const ticks = size.seconds * 100;
    const perTick = size.rate / 100;
    for (let tick = 0; tick < ticks; tick++) {
      const due = performance.now() + 10;
      await Promise.all(
        Array.from({ length: perTick }, () => {
          const id = randomUUID();
          const to = users[Math.floor(Math.random() * users.length)] as string;
          sentAt.set(id, performance.now());
          return messenger.sendMessage(sender, to, text, { messageId: id });
        }),
      );
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
    const sent = ticks * perTick;
    const deadline = Date.now() + 10_000;
    while (latencies.length < sent && Date.now() < deadline) await sleep(10);

    await Promise.all(opened.map((subscription) => subscription.close()));
    const figures: Figures = {
      way: wayName,
      deployment: deployment.label,
      subscriptions: count,
      connections,
      openSeconds: seconds,
      heapPerSubscriptionBytes: (heapAfter - heapBefore) / count,
      deliveredP50Ms: median(latencies),
      deliveredP99Ms: percentile(latencies, 99),
      delivered: latencies.length,
      sent,
    };
    if (wayName === 'ours') {
      // Open/close cycles with a few subscriptions held open, as a server's come and go.
      const held = await Promise.all(users.slice(0, 10).map((u) => way.subscribe(u, () => {})));
      const warm = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const s = await way.subscribe(users[i % users.length] as string, () => {});
          await s.close();
        }
      };
      await warm(500);
      const connectionsBefore = (await deployment.connections()) - idle;
      const heapCyclesBefore = heapUsed();
      await warm(size.cycles);
      figures.cycleHeapGrowthBytes = heapUsed() - heapCyclesBefore;
      figures.cycleConnectionsBefore = connectionsBefore;
      figures.cycleConnectionsAfter = (await deployment.connections()) - idle;
      await Promise.all(held.map((s) => s.close()));
    }
    return figures;
  } finally {
    await messenger.close();
  }
}

const output = createOutput();
const loadBefore = loadavg()[0] ?? 0;
const started = performance.now();
const results: Figures[] = [];
const deployments: [() => Promise<Deployment>, number, number][] = [
  [standalone, size.subscriptions, size.subscriptions],
];
if (withCluster) deployments.push([cluster, size.subscriptions, size.referenceOnCluster]);
for (const [start, ours, reference] of deployments) {
  const deployment = await start();
  try {
    output.progress(`Subscriptions on ${deployment.label}`, 0, 2);
    results.push(await measure(deployment, 'ours', ours));
    output.progress(`Subscriptions on ${deployment.label}`, 1, 2);
    if (withReference) results.push(await measure(deployment, 'reference', reference));
    output.progress(`Subscriptions on ${deployment.label}`, 2, 2);
  } finally {
    await deployment.stop();
  }
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, load average ${loadBefore.toFixed(2)} before the run${gc ? '' : ' (no --expose-gc: heap figures are rough)'}`;
if (asJson) {
  output.line(JSON.stringify({ quick, machine, results }, null, 2));
} else {
  output.line(
    `Machine: ${machine}; ${Math.round((performance.now() - started) / 1000)} s in all${quick ? ' (quick run)' : ''}`,
  );
  output.line();
  output.line(
    '| deployment | way | subscriptions | Redis connections | time to open | heap per subscription | delivery p50 | delivery p99 | delivered |',
  );
  output.line('|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    output.line(
      `| ${r.deployment} | ${r.way} | ${r.subscriptions.toLocaleString('en')} | ${r.connections.toLocaleString('en')} | ${r.openSeconds.toFixed(2)} s | ${Math.round(r.heapPerSubscriptionBytes).toLocaleString('en')} B | ${r.deliveredP50Ms.toFixed(2)} ms | ${r.deliveredP99Ms.toFixed(2)} ms | ${r.delivered.toLocaleString('en')}/${r.sent.toLocaleString('en')} |`,
    );
  }
  output.line();
  for (const r of results.filter((x) => x.cycleConnectionsBefore !== undefined)) {
    output.line(
      `${r.deployment}, ${size.cycles.toLocaleString('en')} open/close cycles: Redis connections ${r.cycleConnectionsBefore} → ${r.cycleConnectionsAfter}, heap ${r.cycleHeapGrowthBytes !== undefined && r.cycleHeapGrowthBytes >= 0 ? '+' : ''}${Math.round((r.cycleHeapGrowthBytes ?? 0) / 1024).toLocaleString('en')} KiB`,
    );
  }
}
