/**
 * `npx tsx bench/cluster-layout-2.ts [--sends N] [--rounds N]`: what a send would cost
 * with cluster layout 2, a design not built yet (issue 14; docs/performance.md, "Fourth
 * pass"), against the messenger's send today, in one run.
 *
 * Today a cluster send touches four slots (the message's, the sender's, the receiver's,
 * the conversation's): six requests over three round trips, unless one master serves all
 * four. Layout 2 keeps a message's hash in its receiver's slot (`message:{<receiver>}:<id>`)
 * and gives each user their own copy of a conversation (`conversation:{<user>}:<other>`),
 * so a send touches two slots: the sender's check (check-sender-3.lua, as today), then one
 * script in the receiver's slot (bench/cluster-layout-2/deliver-2.lua), then one in the
 * sender's (note-sent-2.lua): three requests; one script where one master serves both
 * users (send-on-one-node-2.lua). The prototype scripts do the same checks and writes as
 * today's steps (and one more sorted-set entry, the second copy of the conversation); they
 * leave out what the library needs around them (a slot that moved, retries, reads, the
 * move of data already stored), so the figures bound what the layout can save.
 *
 * On one throwaway redis-server and throwaway clusters of 1 and 3 shards, 1,000 users,
 * sends between random pairs with 64 in flight; the ways take turns round by round (the
 * machine's noise falls on all); medians of the rounds: this process's CPU per send,
 * Redis's (all masters), sends a second.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { createOutput } from '../src/cli/output.js';
import { Keys } from '../src/core/keys.js';
import { scripts } from '../src/core/scripts.js';
import { closeClient, openCluster, type RedisCluster } from '../src/redis/connect.js';
import { LuaScript } from '../src/redis/lua-script.js';
import { RoutedCommands } from '../src/redis/routed-commands.js';
import { SlotRouter } from '../src/redis/slot-router.js';
import { type BenchBackend, startCluster, startStandalone } from './backends.js';
import { benchFlags, wholeNumber } from './flags.js';
import { median, runConcurrently } from './measure.js';
import { measureWork, type WorkPerOperation } from './redis-work.js';
import { manyUsers, randomPair, text } from './workloads.js';

const flags = benchFlags(
  [
    'usage: npx tsx bench/cluster-layout-2.ts [--sends N] [--rounds N]',
    '  --sends N    sends per way and round (4,000)',
    '  --rounds N   rounds, the ways taking turns (7)',
  ].join('\n'),
  { sends: { type: 'string' }, rounds: { type: 'string' } },
);
const SENDS = flags.sends === undefined ? 4000 : wholeNumber('sends', flags.sends, 100, 1_000_000);
const ROUNDS = flags.rounds === undefined ? 7 : wholeNumber('rounds', flags.rounds, 1, 100);
const USERS = 1000;
const IN_FLIGHT = 64;

const folder = new URL('./cluster-layout-2/', import.meta.url);
const includes = new URL('../src/core/scripts/includes/', import.meta.url);
const layout2 = {
  deliver: LuaScript.fromFile(folder, 'deliver-2', includes),
  noteSent: LuaScript.fromFile(folder, 'note-sent-2', includes),
  sendOnOneNode: LuaScript.fromFile(folder, 'send-on-one-node-2', includes),
};
const keys = new Keys(undefined, 'cluster');

/** A send in layout 2; with `oneScript`, one script where one master serves both users. */
async function sendInLayout2(
  routed: RoutedCommands,
  sender: string,
  receiver: string,
  oneScript: boolean,
): Promise<void> {
  const id = randomUUID();
  const hash = `message:{${receiver}}:${id}`;
  const receiverCopy = `conversation:{${receiver}}:${sender}`;
  const senderCopy = `conversation:{${sender}}:${receiver}`;
  if (oneScript && routed.router.oneMaster([keys.user(sender), keys.user(receiver)])) {
    const [code] = (await routed.run(
      layout2.sendOnOneNode,
      [keys.user(sender)],
      [
        ...[id, sender, receiver, text, keys.inboxChannel(receiver), keys.inboxChannel(sender)],
        ...[keys.conversations(sender), keys.user(receiver), keys.inbox(receiver)],
        ...[keys.conversations(receiver), keys.unread(receiver), keys.unseen(receiver, sender)],
        ...[hash, receiverCopy, senderCopy],
      ],
    )) as [number];
    if (code !== 1) throw new Error(`send-on-one-node-2 answered ${code}`);
    return;
  }
  const checked = await routed.run(
    scripts.checkSender,
    [keys.user(sender), keys.conversations(sender), keys.userRateLimit('send', sender)],
    ['', ''],
  );
  if (checked !== 1) throw new Error(`check-sender-3 answered ${checked}`);
  const [code, timestamp = ''] = (await routed.run(
    layout2.deliver,
    [
      ...[keys.user(receiver), keys.inbox(receiver), keys.conversations(receiver)],
      ...[keys.unread(receiver), keys.unseen(receiver, sender), hash, receiverCopy],
    ],
    [id, sender, receiver, text, keys.inboxChannel(receiver)],
  )) as [number, string?];
  if (code !== 1) throw new Error(`deliver-2 answered ${code}`);
  await routed.run(
    layout2.noteSent,
    [keys.conversations(sender), senderCopy],
    [receiver, timestamp, keys.inboxChannel(sender), id, sender, text],
  );
}

interface Way {
  name: string;
  backend: BenchBackend;
  send: () => Promise<unknown>;
  rounds: WorkPerOperation[];
  rates: number[];
}

const loadBefore = loadavg()[0] ?? 0;
const started = performance.now();
const backends = [await startStandalone(), await startCluster(1), await startCluster(3)];
const clusters: RedisCluster[] = [];
try {
  const ways: Way[] = [];
  for (const backend of backends) {
    const users = await manyUsers(backend.messenger, USERS);
    const pair = () => randomPair(users);
    const add = (name: string, send: () => Promise<unknown>) =>
      ways.push({ name: `${name}, ${backend.label}`, backend, send, rounds: [], rates: [] });
    add('today (layout 1)', () => backend.messenger.sendMessage(...pair(), text));
    if (backend.label === 'one Redis') continue;
    // A cluster client as the messenger opens its own (no timer per command, and so on).
    const cluster = await openCluster({ urls: [...backend.urls], connectTimeoutMs: 10_000 });
    clusters.push(cluster);
    const routed = new RoutedCommands(new SlotRouter(cluster), cluster);
    add('layout 2, three requests', () => sendInLayout2(routed, ...pair(), false));
    add('layout 2, one script where one master has both users', () =>
      sendInLayout2(routed, ...pair(), true),
    );
  }
  for (const way of ways) await runConcurrently(300, IN_FLIGHT, way.send); // scripts loaded, JIT warm
  for (let round = 0; round < ROUNDS; round++) {
    for (const way of ways) {
      const start = performance.now();
      way.rounds.push(
        await measureWork(way.backend.masters, SENDS, () =>
          runConcurrently(SENDS, IN_FLIGHT, way.send),
        ),
      );
      way.rates.push(SENDS / ((performance.now() - start) / 1000));
    }
  }
  const [oneRedis] = ways;
  const node = (way: Way) => median(way.rounds.map((work) => work.nodeCpuUs));
  const redis = (way: Way) => median(way.rounds.map((work) => work.redisCpuUs));
  const rate = (way: Way) => median(way.rates);
  const todayOneShard = ways.find((way) => way.name === 'today (layout 1), cluster, 1 shard');
  const output = createOutput();
  output.line(
    `Machine: ${cpus().length} × ${cpus()[0]?.model.split(' ').slice(0, 2).join(' ')}, Node ${process.version}, load average ${loadBefore.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after; ${Math.round((performance.now() - started) / 1000)} s; ${SENDS.toLocaleString('en')} sends a way and round, ${ROUNDS} rounds, ${IN_FLIGHT} in flight between ${USERS.toLocaleString('en')} users; medians of the rounds`,
  );
  output.line(
    '| way | Node CPU per send | vs one Redis | Redis CPU per send, all masters | Redis commands per send (in scripts too) | sends/s | vs today on 1 shard |',
  );
  output.line('|---|---|---|---|---|---|---|');
  for (const way of ways) {
    const commands = median(way.rounds.map((work) => work.commands));
    output.line(
      `| ${way.name} | ${node(way).toFixed(1)} µs | ${(node(way) / node(oneRedis as Way)).toFixed(2)}× | ${redis(way).toFixed(1)} µs | ${commands.toFixed(1)} | ${Math.round(rate(way)).toLocaleString('en')} | ${todayOneShard ? (rate(way) / rate(todayOneShard)).toFixed(2) : ''}× |`,
    );
  }
} finally {
  for (const cluster of clusters) await closeClient(cluster);
  for (const backend of backends) await backend.stop();
}
