/**
 * `npx tsx bench/replica-wait.ts [--quick]`: what `waitForReplicas: 1` costs a send on a
 * throwaway local Redis Cluster of 3 masters with 1 replica each (docs/reliability.md).
 *
 * 1. Healthy replicas: sends one at a time and 64 in flight, with and without waiting,
 *    the two interleaved round by round so that the machine's noise falls on both;
 *    medians of the rounds, and their ratio.
 * 2. One replica paused (SIGSTOP), as a replica that is down or far behind: how long a
 *    send to its shard takes with waiting (it is refused), and how long reads take through
 *    the same messenger while sends wait: WAIT blocks the connection it is sent on, and
 *    the messenger has one connection to each node (node-redis moreover sends WAIT to
 *    every master, whatever key it is given: its command policy for WAIT is all_shards).
 */
import { performance } from 'node:perf_hooks';
import { createClient } from 'redis';
import { Keys } from '../src/core/keys.js';
import { type MessengerOptions, RedisMessenger } from '../src/index.js';
import { keySlot, startRedisCluster } from '../test/support/redis-cluster.js';
import { benchFlags } from './flags.js';
import { median, percentile } from './measure.js';

const flags = benchFlags(
  'usage: npx tsx bench/replica-wait.ts [--quick]\n  --quick   fewer sends and rounds',
  { quick: { type: 'boolean' } },
);
const quick = flags.quick === true;
const size = {
  users: 60,
  sequential: quick ? 300 : 1000,
  concurrent: quick ? 2000 : 6000,
  inFlight: 64,
  rounds: quick ? 3 : 5,
};
const text = 'Hello, Bob! How are you today? This is a message of a typical length.';

interface Figures {
  opsPerSecond: number;
  p50: number;
  p99: number;
}

/** `count` sends between random users, `inFlight` at a time: throughput and latencies. */
async function sends(
  messenger: RedisMessenger,
  users: string[],
  count: number,
  inFlight: number,
): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(count, inFlight) }, async () => {
      while (next < count) {
        const i = next++;
        const from = users[i % users.length] as string;
        const to = users[(i * 7 + 1) % users.length] as string;
        const began = performance.now();
        await messenger.sendMessage(from, to === from ? (users[0] as string) : to, text);
        latencies.push(performance.now() - began);
      }
    }),
  );
  return {
    opsPerSecond: (count / (performance.now() - start)) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

const format = (value: number, digits = 2) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
const namespace = `bench-replicas-${Date.now()}`;
const messengers: RedisMessenger[] = [];
const connect = async (options: MessengerOptions) => {
  const messenger = await RedisMessenger.connect({
    cluster: [...cluster.urls],
    namespace,
    ...options,
  });
  messengers.push(messenger);
  return messenger;
};
try {
  const plain = await connect({ commandTimeoutMs: 60_000 });
  const waiting = await connect({ commandTimeoutMs: 60_000, waitForReplicas: 1 });
  const users: string[] = [];
  for (let i = 0; i < size.users; i++) users.push(await plain.createUser(`user-${i}`));
  // Warm both up (scripts cached on every master, connections open).
  await sends(plain, users, 200, 16);
  await sends(waiting, users, 200, 16);

  const results = {
    sequential: { plain: [] as Figures[], waiting: [] as Figures[] },
    concurrent: { plain: [] as Figures[], waiting: [] as Figures[] },
  };
  for (let round = 0; round < size.rounds; round++) {
    const order =
      round % 2 === 0 ? (['plain', 'waiting'] as const) : (['waiting', 'plain'] as const);
    for (const mode of order) {
      const messenger = mode === 'plain' ? plain : waiting;
      results.sequential[mode].push(await sends(messenger, users, size.sequential, 1));
      results.concurrent[mode].push(await sends(messenger, users, size.concurrent, size.inFlight));
    }
    process.stderr.write(`round ${round + 1} of ${size.rounds} done\n`);
  }

  const machine = `Node ${process.version}, ${size.rounds} rounds, ${size.sequential} sequential and ${size.concurrent} concurrent sends a round`;
  console.log(`\nwaitForReplicas: 1 on a 3-master, 1-replica-each local cluster (${machine})\n`);
  console.log('| workload | figure | default | waitForReplicas 1 | ratio (wait / default) |');
  console.log('|---|---|---|---|---|');
  for (const [workload, label] of [
    ['sequential', 'sendMessage, one at a time'],
    ['concurrent', `sendMessage, ${size.inFlight} in flight`],
  ] as const) {
    const rows = results[workload];
    for (const [figure, unit, pick] of [
      ['throughput', 'ops/s', (f: Figures) => f.opsPerSecond],
      ['latency p50', 'ms', (f: Figures) => f.p50],
      ['latency p99', 'ms', (f: Figures) => f.p99],
    ] as const) {
      const a = median(rows.plain.map(pick));
      const b = median(rows.waiting.map(pick));
      const digits = unit === 'ops/s' ? 0 : 2;
      console.log(
        `| ${label} | ${figure} (${unit}, median of ${size.rounds}) | ${format(a, digits)} | ${format(b, digits)} | ${format(b / a)}× |`,
      );
    }
  }

  // 2. A replica paused: sends to its shard, and a read on that shard meanwhile.
  const keys = new Keys(namespace, 'cluster');
  const shardOf = async (user: string) => (await cluster.masterOf(keySlot(keys.inbox(user)))).port;
  const target = users[1] as string;
  const targetShard = await shardOf(target);
  let neighbour: string | undefined;
  let elsewhere: string | undefined;
  for (const user of users.slice(2)) {
    if (neighbour && elsewhere) break;
    if ((await shardOf(user)) === targetShard) neighbour ??= user;
    else elsewhere ??= user;
  }
  if (!neighbour || !elsewhere) throw new Error('too few users to find inboxes on both shards');
  // The replica of that shard's master: the one its INFO replication names.
  const probe = createClient({ url: `redis://127.0.0.1:${targetShard}` });
  await probe.connect();
  const replicaPort = /^slave0:.*port=(\d+)/m.exec(await probe.info('replication'))?.[1];
  probe.destroy();
  const paused = cluster.nodes.find((node) => String(node.port) === replicaPort);
  if (!paused) throw new Error('no replica found');
  const careful = await connect({ waitForReplicas: 1 });
  const sender = users[0] as string;

  /** How long a page of `user`'s inbox takes, and how it ended. */
  const read = async (messenger: RedisMessenger, user: string) => {
    const began = performance.now();
    const outcome = await messenger.listUserMessages(user, { limit: 50 }).then(
      () => 'ok',
      (error: Error) => error.name,
    );
    return `${format(performance.now() - began, 0)} ms (${outcome})`;
  };
  const readBefore = await read(careful, neighbour);
  paused.signal('SIGSTOP');
  try {
    const began = performance.now();
    const outcome = await careful.sendMessage(sender, target, text).then(
      () => 'acknowledged',
      (error: Error) => error.name,
    );
    const sendMs = performance.now() - began;
    // Eight sends to the shard at once, then reads while they wait.
    const eight = Array.from({ length: 8 }, () =>
      careful.sendMessage(sender, target, text).then(
        () => 'acknowledged',
        (error: Error) => error.name,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    const [readSame, readElsewhere, readPlain] = await Promise.all([
      read(careful, neighbour),
      read(careful, elsewhere),
      read(plain, neighbour),
    ]);
    const outcomes: Record<string, number> = {};
    for (const name of await Promise.all(eight)) outcomes[name] = (outcomes[name] ?? 0) + 1;
    console.log(
      '\nOne replica paused (SIGSTOP); waitForReplicas 1, replicaTimeoutMs 1000, commandTimeoutMs 5000 (the defaults):',
    );
    console.log(`- a send to its shard: ${outcome} after ${format(sendMs, 0)} ms`);
    console.log(`- then 8 sends to the shard at once: ${JSON.stringify(outcomes)}`);
    console.log(
      `- meanwhile a page of 50 through the same messenger, of an inbox on that shard: ${readSame}; on another shard: ${readElsewhere}; through a messenger that does not wait: ${readPlain} (before the pause: ${readBefore})`,
    );
  } finally {
    paused.signal('SIGCONT');
  }
} finally {
  await Promise.allSettled(messengers.map((messenger) => messenger.close()));
  await cluster.stop();
}
