/**
 * `npm run bench:bounded [-- --messages N] [-- --no-cluster] [-- --no-standalone]`: the
 * longest single Redis call each of the messenger's big operations makes (issue 13, item
 * 3), at 1,000,000 messages (default) in one inbox and one conversation, on a throwaway
 * redis-server and a throwaway 3-master cluster. Beside each call: a latency probe (PING
 * after PING from a worker thread, on a connection of its own to every master) and Redis's
 * SLOWLOG (every command over 1 ms, timed by the server). The recount also reports this
 * process's heap at its peak, above what it was before.
 */
import { performance } from 'node:perf_hooks';
import { recountUnreadStreamed } from '../src/core/backend/cluster-recount.js';
import { StandaloneWrites } from '../src/core/backend/standalone-writes.js';
import type { StepRunner } from '../src/core/backend/writes.js';
import { scripts } from '../src/core/scripts.js';
import type { RedisClient, RedisCluster } from '../src/redis/connect.js';
import { fillBigInbox, unseenAtTheBottom } from '../test/support/big-inbox.js';
import { resetSlowlog, slowestLogged, startLatencyProbe } from '../test/support/latency-probe.js';
import { type BenchBackend, startCluster, startStandalone } from './backends.js';
import { benchFlags, wholeNumber } from './flags.js';

const flags = benchFlags(
  [
    'usage: npm run bench:bounded -- [--messages N] [--no-cluster] [--no-standalone]',
    '  --messages N      messages in the one inbox and the one conversation (1,000,000)',
    '  --no-cluster      the redis-server only',
    '  --no-standalone   the 3-master cluster only',
  ].join('\n'),
  {
    messages: { type: 'string' },
    'no-cluster': { type: 'boolean' },
    'no-standalone': { type: 'boolean' },
  },
);
const MESSAGES =
  flags.messages === undefined
    ? 1_000_000
    : wholeNumber('messages', flags.messages, 1, 100_000_000);

interface Row {
  deployment: string;
  call: string;
  totalMs: number;
  pings: number;
  probeP99Ms: number;
  probeSlowestMs: number;
  slowlogMs: number;
  slowlogCommand: string;
  heapPeakMb?: number;
  /** Redis's mean time per script call (INFO commandstats): the step's cost, free of spikes. */
  scriptMeanUs?: number;
  failed?: string;
}

/** The mean µs per EVALSHA over every master since CONFIG RESETSTAT. */
async function scriptMeanUs(backend: BenchBackend): Promise<number | undefined> {
  let calls = 0;
  let usec = 0;
  for (const master of backend.masters) {
    const line = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await master.info('commandstats'));
    if (line) {
      calls += Number(line[1]);
      usec += Number(line[2]);
    }
  }
  return calls > 0 ? usec / calls : undefined;
}

/** Runs each step as it comes, with no deadline: the run times the steps itself. */
const now: StepRunner = (step) => step();
const scriptNames = new Map(Object.values(scripts).map((script) => [script.sha, script.name]));

async function measure(
  backend: BenchBackend,
  call: string,
  operation: () => Promise<unknown>,
  withHeap = false,
): Promise<Row> {
  await resetSlowlog(backend.masters);
  await Promise.all(backend.masters.map((master) => master.configResetStat()));
  global.gc?.();
  const baseline = process.memoryUsage().heapUsed;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 10);
  const probe = await startLatencyProbe(backend.masters);
  const started = performance.now();
  // A call that fails (out of memory, a timeout) is a figure too: the row says so.
  const result = await operation().catch((error: Error) => `failed: ${error.message}`);
  const totalMs = performance.now() - started;
  const report = await probe.stop();
  clearInterval(sampler);
  const slowest = await slowestLogged(backend.masters);
  const meanUs = await scriptMeanUs(backend);
  const [name, sha] = slowest.command.split(' ');
  const row: Row = {
    deployment: backend.label,
    call,
    totalMs,
    pings: report.pings,
    probeP99Ms: report.p99Ms,
    probeSlowestMs: report.slowestMs,
    slowlogMs: slowest.ms,
    slowlogCommand:
      name === 'EVALSHA' ? `EVALSHA ${scriptNames.get(sha ?? '') ?? sha}` : name || '',
  };
  if (meanUs !== undefined) row.scriptMeanUs = meanUs;
  if (withHeap) row.heapPeakMb = (peak - baseline) / 1e6;
  if (typeof result === 'string' && result.startsWith('failed')) row.failed = result;
  // A call that returns nothing (the recount) is shown as done, not as "undefined".
  const said = result === undefined ? 'done' : JSON.stringify(result);
  console.error(`  ${call}: ${said} ${JSON.stringify(row)}`);
  return row;
}

async function run(backend: BenchBackend): Promise<Row[]> {
  const m = backend.messenger;
  // A script over 5 s would make Redis answer BUSY to every other command, and the bench
  // would measure errors: let it run, so that its length is the figure.
  for (const master of backend.masters) {
    master.on('error', () => {});
    await master.configSet('busy-reply-threshold', '600000');
  }
  const a = await m.createUser('sender');
  const b = await m.createUser('receiver');
  const filling = performance.now();
  await fillBigInbox(backend.connection, backend.keys, { a, b }, MESSAGES);
  console.error(
    `${backend.label}: ${MESSAGES.toLocaleString('en')} messages stored in ${((performance.now() - filling) / 1000).toFixed(1)} s`,
  );
  const rows: Row[] = [];
  // reindex's unread recount, through the backend's writes as reindex calls it: it was the
  // one script over the whole inbox (one Redis) and held the inbox in memory (a cluster).
  // reindex's other pass issues one single-key command per entry, 500 entries at a time.
  const writes =
    backend.shards > 1
      ? {
          recountUnread: (user: string) =>
            recountUnreadStreamed(backend.connection as RedisCluster, backend.keys, user, now),
        }
      : new StandaloneWrites(backend.connection as RedisClient, backend.keys);
  rows.push(
    await measure(backend, "reindex's unread recount", () => writes.recountUnread(b, now), true),
  );
  rows.push(
    await measure(backend, 'listUnreadMessages, every message unseen', () =>
      m.listUnreadMessages(b).then((found) => found.length),
    ),
  );
  rows.push(
    await measure(backend, 'markConversationSeen, every message unseen', () =>
      m.markConversationSeen(b, a),
    ),
  );
  await unseenAtTheBottom(backend.connection, backend.keys, { a, b });
  rows.push(
    await measure(backend, 'listUnreadMessages, one unseen at the bottom', () =>
      m.listUnreadMessages(b).then((found) => found.length),
    ),
  );
  rows.push(
    await measure(backend, 'markConversationSeen, one unseen at the bottom', () =>
      m.markConversationSeen(b, a),
    ),
  );
  const id = await unseenAtTheBottom(backend.connection, backend.keys, { a, b });
  rows.push(await measure(backend, 'markSeen of it', () => m.markSeen(b, [id])));
  // A counter too high (nothing is unseen): the first listing finds out and corrects it.
  await backend.connection.hSet(backend.keys.unread(b), a, '5');
  rows.push(
    await measure(backend, 'listUnreadMessages, a counter too high', () =>
      m.listUnreadMessages(b).then((found) => found.length),
    ),
  );
  rows.push(
    await measure(backend, 'listUnreadMessages, the next one', () =>
      m.listUnreadMessages(b).then((found) => found.length),
    ),
  );
  return rows;
}

const deployments: (() => Promise<BenchBackend>)[] = [];
if (flags['no-standalone'] !== true) deployments.push(startStandalone);
if (flags['no-cluster'] !== true) deployments.push(() => startCluster(3));

const rows: Row[] = [];
for (const start of deployments) {
  const backend = await start();
  try {
    rows.push(...(await run(backend)));
  } finally {
    await backend.stop();
  }
}

const fixed = (value: number, digits = 1) => value.toFixed(digits);
console.log(`\n${MESSAGES.toLocaleString('en')} messages in one inbox and one conversation\n`);
console.log(
  '| deployment | call | in all (ms) | PINGs meanwhile | probe p99 (ms) | slowest PING (ms) | slowest command, SLOWLOG (ms) | mean script call (ms) | heap peak (MB) |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const row of rows) {
  console.log(
    `| ${row.deployment} | ${row.call}${row.failed ? ` (${row.failed})` : ''} | ${fixed(row.totalMs, 0)} | ${row.pings} | ${fixed(row.probeP99Ms)} | **${fixed(row.probeSlowestMs)}** | **${fixed(row.slowlogMs)}** ${row.slowlogCommand} | ${row.scriptMeanUs === undefined ? '' : fixed(row.scriptMeanUs / 1000, 2)} | ${row.heapPeakMb === undefined ? '' : fixed(row.heapPeakMb, 0)} |`,
  );
}
