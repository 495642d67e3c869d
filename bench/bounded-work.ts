/**
 * `npm run bench:bounded [-- --messages N] [-- --no-cluster] [-- --no-standalone]`: the
 * longest single Redis call each of the messenger's big operations makes (issue 13, item
 * 3), at 1,000,000 messages (default) in one inbox and one conversation, on a throwaway
 * redis-server and a throwaway 3-master cluster. Beside each call: a latency probe (PING
 * after PING from a worker thread, on a connection of its own to every master) and Redis's
 * SLOWLOG (every command over 1 ms, timed by the server). Reindex also reports this
 * process's heap at its peak, above what it was before.
 */
import { performance } from 'node:perf_hooks';
import { messageMember } from '../src/core/keys.js';
import { scripts } from '../src/core/scripts.js';
import type { RedisConnection } from '../src/redis/connect.js';
import { resetSlowlog, slowestLogged, startLatencyProbe } from '../test/support/latency-probe.js';
import { type BenchBackend, startCluster, startStandalone } from './backends.js';

const argument = (name: string) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const MESSAGES = Number(argument('--messages') ?? 1_000_000);
const BATCH = 5000;

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
  failed?: string;
}

const scriptNames = new Map(Object.values(scripts).map((script) => [script.sha, script.name]));

/** The n-th message id of the bench: a UUID the messenger accepts, in sending order. */
function messageId(n: number): string {
  return `0000bee0-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** Scores one millisecond apart, ending a little before now. */
function timestampOf(n: number, start: number): string {
  const ms = start * 1000 + n;
  return `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}000`;
}

/**
 * Stores MESSAGES messages from a to b, all unseen and counted, as the send steps would
 * have: the hashes, inbox, conversation, the counter (and on a cluster the set of unseen
 * messages), in pipelined batches.
 */
async function fill(backend: BenchBackend, a: string, b: string): Promise<void> {
  const { keys } = backend;
  const client = backend.connection as RedisConnection;
  const start = Math.floor(Date.now() / 1000) - Math.ceil(MESSAGES / 1000) - 10;
  const cluster = backend.shards > 1;
  for (let first = 0; first < MESSAGES; first += BATCH) {
    const last = Math.min(MESSAGES, first + BATCH);
    const entries: { score: number; value: string }[] = [];
    const writes: Promise<unknown>[] = [];
    for (let n = first; n < last; n++) {
      const id = messageId(n);
      const timestamp = timestampOf(n, start);
      entries.push({ score: Number(timestamp), value: messageMember(id) });
      writes.push(
        client.hSet(keys.message(id), {
          message_id: id,
          sender_id: a,
          receiver_id: b,
          message: `message ${n}`,
          timestamp,
          seen: 'False',
        }),
      );
    }
    writes.push(client.zAdd(keys.inbox(b), entries), client.zAdd(keys.conversation(a, b), entries));
    if (cluster) writes.push(client.zAdd(keys.unseen(b, a), entries));
    await Promise.all(writes);
  }
  await client.hSet(keys.unread(b), a, String(MESSAGES));
  await client.zAdd(keys.conversations(b), { score: MESSAGES, value: a });
}

/** Makes the oldest message unseen again (and counted), all the others seen. */
async function oneUnseenAtTheBottom(backend: BenchBackend, a: string, b: string): Promise<string> {
  const { keys } = backend;
  const client = backend.connection as RedisConnection;
  const id = messageId(0);
  await client.hSet(keys.message(id), 'seen', 'False');
  await client.hSet(keys.unread(b), a, '1');
  if (backend.shards > 1) {
    const [oldest] = await client.zRangeWithScores(keys.inbox(b), 0, 0);
    if (oldest) await client.zAdd(keys.unseen(b, a), oldest);
  }
  return id;
}

async function measure(
  backend: BenchBackend,
  call: string,
  operation: () => Promise<unknown>,
  withHeap = false,
): Promise<Row> {
  const urls = backend.masters.map((master) => master.options?.url as string);
  await resetSlowlog(backend.masters);
  global.gc?.();
  const baseline = process.memoryUsage().heapUsed;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 10);
  const probe = await startLatencyProbe(urls);
  const started = performance.now();
  // A call that fails (out of memory, a timeout) is a figure too: the row says so.
  const result = await operation().catch((error: Error) => `failed: ${error.message}`);
  const totalMs = performance.now() - started;
  const report = await probe.stop();
  clearInterval(sampler);
  const slowest = await slowestLogged(backend.masters);
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
  if (withHeap) row.heapPeakMb = (peak - baseline) / 1e6;
  if (typeof result === 'string' && result.startsWith('failed')) row.failed = result;
  console.error(`  ${call}: ${JSON.stringify(result)} ${JSON.stringify(row)}`);
  return row;
}

async function run(backend: BenchBackend): Promise<Row[]> {
  const m = backend.messenger;
  const a = await m.createUser('sender');
  const b = await m.createUser('receiver');
  const filling = performance.now();
  await fill(backend, a, b);
  console.error(
    `${backend.label}: ${MESSAGES.toLocaleString('en')} messages stored in ${((performance.now() - filling) / 1000).toFixed(1)} s`,
  );
  const rows: Row[] = [];
  rows.push(await measure(backend, 'reindex (recount over the inbox)', () => m.reindex(), true));
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
  await oneUnseenAtTheBottom(backend, a, b);
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
  const id = await oneUnseenAtTheBottom(backend, a, b);
  rows.push(await measure(backend, 'markSeen of it', () => m.markSeen(b, [id])));
  return rows;
}

const deployments: (() => Promise<BenchBackend>)[] = [];
if (!process.argv.includes('--no-standalone')) deployments.push(startStandalone);
if (!process.argv.includes('--no-cluster')) deployments.push(() => startCluster(3));

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
  '| deployment | call | in all (ms) | PINGs meanwhile | probe p99 (ms) | slowest PING (ms) | slowest command, SLOWLOG (ms) | heap peak (MB) |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const row of rows) {
  console.log(
    `| ${row.deployment} | ${row.call}${row.failed ? ` (${row.failed})` : ''} | ${fixed(row.totalMs, 0)} | ${row.pings} | ${fixed(row.probeP99Ms)} | **${fixed(row.probeSlowestMs)}** | **${fixed(row.slowlogMs)}** ${row.slowlogCommand} | ${row.heapPeakMb === undefined ? '' : fixed(row.heapPeakMb, 0)} |`,
  );
}
