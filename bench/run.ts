/**
 * `npm run bench [-- --quick] [-- --json] [-- --no-cluster]`: every workload measured in
 * one run on one throwaway redis-server, three ways: the messenger ("ours"), the original
 * program's algorithm ("naive", test/support/seed-program.ts) and a bare pipelined client
 * doing the same Redis work ("ceiling", bench/ceiling.ts). Then the main workloads again,
 * side by side, on that redis-server and on throwaway Redis Clusters of 1 and 3 shards
 * (bench/side-by-side.ts). Figures are medians of repeated runs.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { createOutput } from '../src/cli/output.js';
import { type BenchBackend, startCluster, startStandalone } from './backends.js';
import { benchFlags } from './flags.js';
import { duration, median, percentile, runConcurrently, throughput } from './measure.js';
import { compareBackends, type SideBySide, sideBySideTables } from './side-by-side.js';
import { fillInbox, liveLatencies, text, twoUsers } from './workloads.js';

const flags = benchFlags(
  [
    'usage: npm run bench -- [--quick] [--json] [--no-cluster]',
    '  --quick        smaller workloads, fewer repeats',
    '  --json         the figures as JSON instead of tables',
    '  --no-cluster   one redis-server only, no side-by-side on Redis Clusters',
  ].join('\n'),
  { quick: { type: 'boolean' }, json: { type: 'boolean' }, 'no-cluster': { type: 'boolean' } },
);
const quick = flags.quick === true;
const asJson = flags.json === true;
const withCluster = flags['no-cluster'] !== true;
const size = {
  users: quick ? 300 : 2000,
  sequentialSends: quick ? 1000 : 5000,
  concurrentSends: quick ? 5000 : 30000,
  bigInbox: quick ? 20_000 : 100_000,
  otherKeys: quick ? 50_000 : 200_000,
  repeat: quick ? 5 : 15,
  liveSeconds: quick ? 1 : 3,
  memoryMessages: quick ? 20_000 : 100_000,
};
/** The side-by-side comparison with Redis Cluster: smaller, since it runs three times. */
const clusterSize = {
  sequentialSends: quick ? 500 : 3000,
  concurrentSends: quick ? 3000 : 20_000,
  users: quick ? 200 : 1000,
  repeat: quick ? 5 : 15,
  liveSeconds: quick ? 1 : 2,
};

interface Row {
  workload: string;
  unit: 'ops/s' | 'ms' | 'bytes';
  ours: number;
  naive?: number;
  ceiling?: number;
  /** The target, in words, and whether this run met it. */
  target?: string;
  met?: boolean;
}

const started = performance.now();
/** The machine's load before the run: others' work on a shared machine skews the figures. */
const loadBefore = loadavg()[0] ?? 0;
const rows: Row[] = [];
const output = createOutput();
const standalone = await startStandalone();
const { messenger, seed, ceiling, client: raw } = standalone;
const redisVersion = /redis_version:(\S+)/.exec(await raw.info('server'))?.[1] ?? '?';

const steps = [
  createUsers,
  sequentialSends,
  concurrentSends,
  readWholeInbox,
  pagesFromBigInbox,
  conversationPage,
  listUsers,
  unreadCounts,
  liveLatency,
  memoryPerMessage,
];

const clusters: BenchBackend[] = [];
let sideBySide: SideBySide | undefined;
try {
  for (const [i, step] of steps.entries()) {
    output.progress('Benchmarking one Redis', i, steps.length);
    await raw.flushAll(); // our own throwaway server
    await step();
  }
  output.progress('Benchmarking one Redis', steps.length, steps.length);
  if (withCluster) {
    clusters.push(...(await Promise.all([startCluster(1), startCluster(3)])));
    sideBySide = await compareBackends([standalone, ...clusters], clusterSize, (done, total) =>
      output.progress('Benchmarking side by side with Redis Cluster', done, total),
    );
  }
  report();
} finally {
  await Promise.allSettled([standalone, ...clusters].map((backend) => backend.stop()));
}

async function createUsers() {
  const n = size.users;
  const ours = await throughput(n, 1, () => messenger.createUser(`o${randomUUID().slice(0, 30)}`));
  const naive = await throughput(n, 1, () => seed.createUser(`n${randomUUID().slice(0, 30)}`));
  const top = await throughput(n, 1, () => ceiling.createUser(`c${randomUUID().slice(0, 30)}`));
  rows.push({ workload: 'createUser, one at a time', unit: 'ops/s', ours, naive, ceiling: top });
}

async function sequentialSends() {
  const [a, b] = await twoUsers(messenger);
  const n = size.sequentialSends;
  const ours = await throughput(n, 1, () => messenger.sendMessage(a, b, text));
  const naive = await throughput(n, 1, () => seed.sendMessage(a, b, text));
  const top = await throughput(n, 1, () => ceiling.sendMessage(a, b, text));
  rows.push({
    workload: 'sendMessage, one at a time',
    unit: 'ops/s',
    ours,
    naive,
    ceiling: top,
    target: '≥ 2.5 × naive',
    met: ours >= 2.5 * naive,
  });
}

async function concurrentSends() {
  const [a, b] = await twoUsers(messenger);
  const n = size.concurrentSends;
  const ours = median([
    await throughput(n, 64, () => messenger.sendMessage(a, b, text)),
    await throughput(n, 64, () => messenger.sendMessage(a, b, text)),
    await throughput(n, 64, () => messenger.sendMessage(a, b, text)),
  ]);
  const top = median([
    await throughput(n, 64, () => ceiling.sendMessage(a, b, text)),
    await throughput(n, 64, () => ceiling.sendMessage(a, b, text)),
    await throughput(n, 64, () => ceiling.sendMessage(a, b, text)),
  ]);
  const naive = await throughput(n, 64, () => seed.sendMessage(a, b, text));
  const naiveSequential = rows.find((r) => r.workload === 'sendMessage, one at a time')?.naive ?? 0;
  rows.push({
    workload: 'sendMessage, 64 in flight',
    unit: 'ops/s',
    ours,
    naive,
    ceiling: top,
    target: '≥ 0.8 × ceiling, ≥ 2.5 × naive one at a time',
    met: ours >= 0.8 * top && ours >= 2.5 * naiveSequential,
  });
}

async function readWholeInbox() {
  const [a, b] = await twoUsers(messenger);
  await fillInbox(messenger, a, b, 1000);
  const ours = await duration(size.repeat, () => messenger.listUserMessages(b, { limit: 1000 }));
  const naive = await duration(size.repeat, () => seed.listUserMessages(b));
  const top = await duration(size.repeat, () => ceiling.readInbox(b, 0, 999));
  rows.push({
    workload: 'read a whole 1,000-message inbox',
    unit: 'ms',
    ours,
    naive,
    ceiling: top,
    target: '≥ 8 × faster than naive, ≤ 1.3 × ceiling',
    met: naive / ours >= 8 && ours <= 1.3 * top,
  });
}

async function pagesFromBigInbox() {
  const [a, small] = await twoUsers(messenger);
  const big = await messenger.createUser(`b-${randomUUID().slice(0, 28)}`);
  await fillInbox(messenger, a, small, 1000);
  await fillInbox(messenger, a, big, size.bigInbox);
  const page = (user: string) => () => messenger.listUserMessages(user, { limit: 50 });
  const fromSmall = await duration(size.repeat * 4, page(small));
  const fromBig = await duration(size.repeat * 4, page(big));
  const top = await duration(size.repeat * 4, () => ceiling.readInbox(big, -50, -1));
  rows.push({ workload: 'a page of 50 from 1,000 messages', unit: 'ms', ours: fromSmall });
  rows.push({
    workload: `a page of 50 from ${size.bigInbox.toLocaleString('en')} messages`,
    unit: 'ms',
    ours: fromBig,
    ceiling: top,
    target: '≤ 1.5 × the page from 1,000',
    met: fromBig <= 1.5 * fromSmall,
  });
}

async function conversationPage() {
  const [a, b] = await twoUsers(messenger);
  await Promise.all([fillInbox(messenger, a, b, 500), fillInbox(messenger, b, a, 500)]);
  const ours = await duration(size.repeat * 4, () =>
    messenger.listConversation(a, b, { limit: 50 }),
  );
  // The original could not show a conversation: the nearest it had was reading both
  // inboxes whole and merging them.
  const naive = await duration(size.repeat, async () => {
    const both = [...(await seed.listUserMessages(a)), ...(await seed.listUserMessages(b))];
    return both.sort((x, y) => Number(x.timestamp) - Number(y.timestamp)).slice(-50);
  });
  const top = await duration(size.repeat * 4, () => ceiling.readConversation(a, b, -50, -1));
  rows.push({
    workload: 'a conversation page of 50 (of 1,000)',
    unit: 'ms',
    ours,
    naive,
    ceiling: top,
  });
}

async function listUsers() {
  for (let i = 0; i < 1000; i++) await messenger.createUser(`user${i}`);
  const measure = async () => ({
    ours: await duration(size.repeat, () => messenger.listAllUsers({ limit: 1000 })),
    naive: await duration(size.repeat, () => seed.listAllUsers()),
    ceiling: await duration(size.repeat, () => ceiling.listUsers(1000)),
  });
  const alone = await measure();
  for (let i = 0; i < size.otherKeys; i += 1000) {
    await Promise.all(Array.from({ length: 1000 }, (_, j) => raw.set(`other:${i + j}`, 'x')));
  }
  const crowded = await measure();
  rows.push({ workload: 'listAllUsers, 1,000 users', unit: 'ms', ...alone });
  rows.push({
    workload: `listAllUsers, 1,000 users + ${size.otherKeys.toLocaleString('en')} other keys`,
    unit: 'ms',
    ...crowded,
    target: '≤ 1.2 × without the other keys',
    met: crowded.ours <= 1.2 * alone.ours,
  });
}

async function unreadCounts() {
  const [a, b] = await twoUsers(messenger);
  await fillInbox(messenger, a, b, 1000);
  const ours = await duration(size.repeat * 4, () => messenger.unreadCount(b));
  // The original's chat counted unseen messages by reading the whole inbox (N+1).
  const naive = await duration(
    size.repeat,
    async () => (await seed.listUserMessages(b)).filter((m) => m.seen === 'False').length,
  );
  const top = await duration(size.repeat * 4, () => ceiling.unreadCount(b));
  rows.push({
    workload: 'unreadCount, 1,000-message inbox',
    unit: 'ms',
    ours,
    naive,
    ceiling: top,
  });
}

async function liveLatency() {
  const { ours, bare, sent } = await liveLatencies(standalone, size.liveSeconds);
  const p99 = percentile(ours, 99);
  rows.push({
    workload: 'live delivery at 1,000/s, p50',
    unit: 'ms',
    ours: median(ours),
    ceiling: median(bare),
  });
  rows.push({
    workload: 'live delivery at 1,000/s, p99',
    unit: 'ms',
    ours: p99,
    ceiling: percentile(bare, 99),
    target: `< 5 ms (${ours.length}/${sent} delivered)`,
    met: p99 < 5 && ours.length === sent,
  });
}

async function usedMemory(): Promise<number> {
  const info = await raw.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

async function memoryPerMessage() {
  const n = size.memoryMessages;
  const [a, b] = await twoUsers(messenger);
  let before = await usedMemory();
  await fillInbox(messenger, a, b, n);
  const ours = ((await usedMemory()) - before) / n;
  await raw.flushAll();
  const [c, d] = await twoUsers(messenger);
  before = await usedMemory();
  await runConcurrently(n, 128, () => seed.sendMessage(c, d, text));
  const naive = ((await usedMemory()) - before) / n;
  rows.push({ workload: 'Redis memory per stored message', unit: 'bytes', ours, naive });
}

function report() {
  const machine = [
    `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}`,
    `Node ${process.version}`,
    `Redis ${redisVersion}`,
    `load average ${loadBefore.toFixed(2)} before the run`,
  ].join(', ');
  const seconds = Math.round((performance.now() - started) / 1000);
  if (asJson) {
    output.line(JSON.stringify({ quick, machine, seconds, rows, cluster: sideBySide }, null, 2));
    return;
  }
  const format = (value: number | undefined, unit: Row['unit']) => {
    if (value === undefined) return '';
    if (unit === 'ops/s') return Math.round(value).toLocaleString('en');
    if (unit === 'bytes') return Math.round(value).toLocaleString('en');
    return value < 10 ? value.toFixed(2) : value.toFixed(1);
  };
  const ratio = (row: Row, other: number | undefined) => {
    if (other === undefined || other === 0) return '';
    const r = row.unit === 'ops/s' ? row.ours / other : other / row.ours; // > 1 means ours is better
    return `${r.toFixed(2)}×`;
  };
  const table = [
    ['workload', 'unit', 'ours', 'naive', 'ceiling', 'vs naive', 'vs ceiling', 'target', ''],
    ...rows.map((row) => [
      row.workload,
      row.unit,
      format(row.ours, row.unit),
      format(row.naive, row.unit),
      format(row.ceiling, row.unit),
      row.unit === 'bytes' ? '' : ratio(row, row.naive),
      row.unit === 'bytes' ? '' : ratio(row, row.ceiling),
      row.target ?? '',
      row.met === undefined ? '' : row.met ? 'met' : 'MISSED',
    ]),
  ];
  output.line(`Machine: ${machine}${quick ? ' (quick run)' : ''}; ${seconds} s in all`);
  output.line('Ratios: how many times better ours is (above 1: ours is faster).');
  output.line();
  output.line(`| ${table[0]?.join(' | ')} |`);
  output.line(`|${table[0]?.map(() => '---').join('|')}|`);
  for (const line of table.slice(1)) output.line(`| ${line.join(' | ')} |`);
  if (!sideBySide) return;
  output.line();
  output.line(
    'Side by side: one Redis and Redis Clusters on this machine (no replicas). Ratios: how many',
  );
  output.line('times better the cluster is than one Redis, or ours than the ceiling.');
  output.line();
  for (const line of sideBySideTables(sideBySide)) output.line(line);
}
