/**
 * `npm run bench:server [-- --quick] [-- --json] [-- --sockets N] [-- --charts DIR]`: the server under load,
 * on one throwaway redis-server and real `messenger serve` processes (rate limits off but for one),
 * all on 127.0.0.1, measured side by side in one run:
 * - throughput: `PUT /api/v1/messages/:id` with HTTP keep-alive and many senders, driven
 *   by wrk where installed, else autocannon (a fresh UUID path per request; http-load.ts),
 *   and in one row by autocannon beside wrk, against the library's own
 *   `messenger.send` with as many in flight on the same Redis, then with two servers,
 *   one server with its rate limits on (what checking the send bucket costs), and
 *   `GET /healthz` (the floor of HTTP itself); the library is measured before and after
 *   each of them, and each one's share of the library is over the mean of the two;
 * - connections: N live WebSocket clients (`ws`, in two processes of their own:
 *   socket-clients.ts) on one server: held, server RSS per socket (/proc/<pid>/status)
 *   and time taken at every tenth of the way, Redis connections the server holds, time to
 *   connect them all;
 * - latency: with those N sockets open, the sender's request (this process) → the
 *   receiver's frame (a socket client's process; both clocks are the epoch's), p50 and
 *   p99, at 500 to 5,000 messages a second offered; every message counted once (losses
 *   and duplicates);
 * - a reconnect storm: every socket dropped at once, messages sent meanwhile, all back at
 *   once from their cursors.
 * Last, the goals of issue 15 checked against the run's figures (server-goals.ts): a
 * table, and exit code 1 when one is missed.
 * Charts (SVG, charts.ts) of latency against the offered rate and of server memory and
 * connect time against sockets open go to DIR: docs/charts/ on a full run, nowhere on a
 * `--quick` one unless `--charts` is given.
 * The servers and the library run from the build (dist/, as an installed package runs
 * them; `npm run bench:server` builds first, and the bench refuses a build older than the
 * sources). Each server's access log (its standard error) goes to a file of its own, as a log
 * collector would take it: a pipe read by this busy process made the servers wait.
 * Sessions are opened through the library (as `POST /login` would) so that thousands of
 * users do not cost thousands of argon2 hashes.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type RedisClientType } from 'redis';
import { createOutput } from '../src/cli/output.js';
import { newCsrfToken, newToken, tokenHash } from '../src/server/auth/tokens.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { exitOf, servingUrl, spawnServeLoggingTo } from '../test/support/serve-process.js';
import { staleBuild } from './built.js';
import { lineChart } from './charts.js';
import { benchFlags, wholeNumber } from './flags.js';
import { hasWrk, type LoadTool, load, type Sender } from './http-load.js';
import { median, percentile, runConcurrently } from './measure.js';
import { type Goal, serverGoals } from './server-goals.js';
import { SocketClients } from './socket-clients.js';
import { text } from './workloads.js';

const flags = benchFlags(
  [
    'usage: npm run bench:server -- [--quick] [--json] [--sockets N] [--charts DIR]',
    '  --quick        one round of 2 s each, 500 sockets, rates to 2,000/s, no charts',
    '  --json         the figures as JSON instead of tables',
    '  --sockets N    WebSocket clients held during the latency runs and the storm (2,000)',
    '  --charts DIR   where the SVG charts go (docs/charts/ on a full run)',
  ].join('\n'),
  {
    quick: { type: 'boolean' },
    json: { type: 'boolean' },
    sockets: { type: 'string' },
    charts: { type: 'string' },
  },
);
const quick = flags.quick === true;
const asJson = flags.json === true;
const sockets =
  flags.sockets === undefined
    ? quick
      ? 500
      : 2000
    : wholeNumber('sockets', flags.sockets, 1, 20_000);
const stale = staleBuild();
if (stale) {
  process.stderr.write(`${stale}\n`);
  process.exit(2);
}
// The library as an installed package runs it, as the servers run: loaded after the check.
// (A path in a variable: the type is the sources', so type checks need no build.)
const build = '../dist/index.js';
const { RedisMessenger } = (await import(build)) as typeof import('../src/index.js');
const size = {
  senders: 50,
  /** Requests (and library sends) in flight at once: the load tool's connections. */
  inFlight: 50,
  seconds: quick ? 2 : 3,
  rounds: quick ? 1 : 5,
  rates: quick ? [500, 1000, 2000] : [500, 1000, 2000, 3000, 5000],
  latencySeconds: quick ? 2 : 4,
};

const chartsDir =
  flags.charts !== undefined
    ? resolve(flags.charts)
    : quick
      ? undefined
      : fileURLToPath(new URL('../docs/charts/', import.meta.url));
/** Processes holding the WebSocket listeners (socket-clients.ts). */
const CLIENT_PROCESSES = 2;
/** Sockets being opened at once, over all those processes. */
const CONNECT_IN_FLIGHT = 100;
/** Milliseconds since the epoch, sub-millisecond: comparable across processes. */
const now = () => performance.timeOrigin + performance.now();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const output = createOutput();
const loadBefore = loadavg()[0] ?? 0;
const started = performance.now();

const redis = await startRedisServer(['--maxclients', '25000']);
const probe: RedisClientType = createClient({ url: redis.url });
await probe.connect();
const messenger = await RedisMessenger.connect({ url: redis.url, commandTimeoutMs: 30_000 });
const servers: { child: ChildProcess; url: string }[] = [];

/**
 * The limits of a server: off (the figures of the server itself), or on as in production
 * with a send bucket no sender here empties, to show what checking it costs.
 */
const LIMITS = {
  off: ['--no-rate-limits'],
  on: ['--send-burst', '1000000', '--sends-per-second', '1000000'],
};

/** The servers' access logs: files, as a log collector would keep them, removed at the end. */
const logs = mkdtempSync(join(tmpdir(), 'redis-messenger-bench-logs-'));
let logsOpened = 0;

async function startServer(
  limits: keyof typeof LIMITS = 'off',
): Promise<{ child: ChildProcess; url: string }> {
  const log = openSync(join(logs, `serve-${++logsOpened}.log`), 'w');
  const child = spawnServeLoggingTo(['--redis', redis.url, ...LIMITS[limits], '--port', '0'], log, {
    built: true,
  });
  closeSync(log);
  const url = await servingUrl(child);
  child.stdout.resume();
  const server = { child, url: url.replace(/\/$/, '') };
  servers.push(server);
  return server;
}

async function stopServer(server: { child: ChildProcess }): Promise<void> {
  const exit = exitOf(server.child);
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000);
  await exit;
  clearTimeout(timer);
  servers.splice(servers.indexOf(server as (typeof servers)[number]), 1);
}

/** Users with an open session each (what `POST /login` returns), `inFlight` at a time. */
async function signedInUsers(count: number): Promise<{ id: string; token: string }[]> {
  const users: { id: string; token: string }[] = [];
  await runConcurrently(count, 200, async () => {
    const id = await messenger.createUser(`b-${randomUUID().slice(0, 24)}`);
    const token = newToken(id);
    await messenger.accounts.openSession(id, tokenHash(token), {
      userAgent: 'bench',
      csrf: newCsrfToken(),
      idleMs: 3_600_000,
      absoluteMs: 3_600_000,
    });
    users.push({ id, token });
  });
  return users;
}

async function connectedClients(): Promise<number> {
  const list = await probe.clientList();
  return list.length;
}

function serverRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
}

/** CPU seconds (user + system) the process has used: /proc/<pid>/stat, in clock ticks of 1/100 s. */
function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The fields of /proc/<pid>/stat after the command's name (the first is the state). */
function statFields(pid: number | 'self'): string[] {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
}

/** The bench process's own CPU seconds. */
function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * The bench's CPU seconds with its children's that have ended (/proc/self/stat cutime and
 * cstime): wrk's, which runs in a process of its own and is waited for, as autocannon's
 * is the bench's own. Only the load tool's children end during the throughput rounds.
 */
function loadCpuSeconds(): number {
  const fields = statFields('self');
  return ownCpuSeconds() + (Number(fields[13]) + Number(fields[14])) / 100;
}

/** CPU in cores used by the bench process, the given server processes and redis-server while `work` ran. */
async function cores<T>(
  pids: number[],
  work: () => Promise<T>,
): Promise<{ result: T; bench: number; servers: number; redis: number }> {
  const redisPid = redis.process.pid as number;
  const before = {
    bench: loadCpuSeconds(),
    servers: pids.map(cpuSeconds),
    redis: cpuSeconds(redisPid),
  };
  const start = performance.now();
  const result = await work();
  const elapsed = (performance.now() - start) / 1000;
  const servers = pids.reduce(
    (sum, p, i) => sum + cpuSeconds(p) - (before.servers[i] as number),
    0,
  );
  return {
    result,
    bench: (loadCpuSeconds() - before.bench) / elapsed,
    servers: servers / elapsed,
    redis: (cpuSeconds(redisPid) - before.redis) / elapsed,
  };
}
type Cores = { bench: number; servers: number; redis: number };

// ---- throughput -------------------------------------------------------------------------

const senders = await signedInUsers(size.senders);
const receivers = await signedInUsers(size.senders);

/** Messages a second through the library: `inFlight` sends at a time for `seconds`. */
async function libraryRate(): Promise<number> {
  let sent = 0;
  const until = performance.now() + size.seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: size.inFlight }, async (_, i) => {
      const from = senders[i % senders.length]?.id as string;
      const to = receivers[i % receivers.length]?.id as string;
      while (performance.now() < until) {
        await messenger.send(from, to, text, { messageId: randomUUID() });
        sent++;
      }
    }),
  );
  return sent / ((performance.now() - start) / 1000);
}

/**
 * The HTTP load tool: wrk where it is installed (its CPU per request is a fraction of
 * autocannon's, which runs in this process and takes from the same two cores), with one
 * round of autocannon beside it; else autocannon alone.
 */
const tool: LoadTool = hasWrk() ? 'wrk' : 'autocannon';
const sendsOf = (from: number, count: number): Sender[] =>
  Array.from({ length: count }, (_, k) => ({
    token: senders[(from + k) % senders.length]?.token as string,
    body: JSON.stringify({ to: receivers[(from + k) % receivers.length]?.id, text }),
  }));

/** Messages a second through servers (each gets its share of the connections and senders), summed. */
async function serverRate(
  urls: string[],
  by: LoadTool = tool,
  seconds = size.seconds,
): Promise<{ rate: number; refused: number }> {
  const share = Math.floor(size.inFlight / urls.length);
  const results = await Promise.all(
    urls.map((url, i) =>
      load(by, { url, connections: share, seconds, senders: sendsOf(i * share, share) }),
    ),
  );
  return {
    rate: results.reduce((sum, r) => sum + r.ok / r.seconds, 0),
    refused: results.reduce((sum, r) => sum + r.refused, 0),
  };
}

/** The floor under any route: `GET /healthz` (no Redis) by the same tool. */
async function healthRate(url: string): Promise<number> {
  const result = await load(tool, {
    url,
    path: '/healthz',
    connections: size.inFlight,
    seconds: size.seconds,
  });
  return result.ok / result.seconds;
}

const first = await startServer();
const second = await startServer();
const limited = await startServer('on');
// Warm the servers (and autocannon) up first: the first seconds are the JIT's.
await serverRate([first.url, second.url], tool, 1);
await serverRate([limited.url], tool, 1);
if (tool === 'wrk') await serverRate([first.url], 'autocannon', 1);
type Way = 'one' | 'oneByAutocannon' | 'oneLimited' | 'two' | 'health';
/** Each way's rate in each round; `library` holds every library measurement, in order. */
const library: number[] = [];
/** A list of figures for each way (oneByAutocannon: the load tool's own cost, beside wrk). */
const perWay = (): Record<Way, number[]> => ({
  one: [],
  oneByAutocannon: [],
  oneLimited: [],
  two: [],
  health: [],
});
const rates = perWay();
/**
 * Each way's rate as a share of the library's measured just before and just after it (their
 * mean): the machine's speed drifts by half within a minute, and a way's ratio to a
 * library figure from far away in time would measure the drift.
 */
const shareOfLibrary = perWay();
/** CPU of each way in its last round. */
const cpu: Record<'library' | Way, Cores> = {} as never;
const pidOf = (s: { child: ChildProcess }) => s.child.pid as number;
let refused = 0;
async function measureLibrary(): Promise<number> {
  const l = await cores([], libraryRate);
  library.push(l.result);
  cpu.library = l;
  return l.result;
}
const ways: [Way, number[], () => Promise<{ rate: number; refused: number }>][] = [
  ['one', [pidOf(first)], () => serverRate([first.url])],
  ...(tool === 'wrk'
    ? [
        [
          'oneByAutocannon',
          [pidOf(first)],
          () => serverRate([first.url], 'autocannon'),
        ] as (typeof ways)[number],
      ]
    : []),
  ['oneLimited', [pidOf(limited)], () => serverRate([limited.url])],
  ['two', [pidOf(first), pidOf(second)], () => serverRate([first.url, second.url])],
  ['health', [pidOf(first)], async () => ({ rate: await healthRate(first.url), refused: 0 })],
];
for (let round = 0; round < size.rounds; round++) {
  output.progress('Throughput', round, size.rounds);
  let before = await measureLibrary();
  for (const [way, pids, measure] of ways) {
    const m = await cores(pids, measure);
    rates[way].push(m.result.rate);
    cpu[way] = m;
    refused += m.result.refused;
    const after = await measureLibrary();
    shareOfLibrary[way].push(m.result.rate / ((before + after) / 2));
    before = after;
  }
}
output.progress('Throughput', size.rounds, size.rounds);
await stopServer(limited);
await stopServer(second);
await stopServer(first);

// ---- connections ------------------------------------------------------------------------

output.progress('Connections', 0, sockets);
const idleClients = await connectedClients();
const live = await startServer();
await sleep(500);
const pid = live.child.pid as number;
const rssBefore = serverRss(pid);
const serverClients = (await connectedClients()) - idleClients;
const listeners = await signedInUsers(sockets);
/** The listeners' sockets, in processes of their own; listener i lives in pools[i % n]. */
const pools = await Promise.all(
  Array.from({ length: CLIENT_PROCESSES }, () => SocketClients.start()),
);
const poolPids = () => pools.map((pool) => pool.pid);
/** Frames of kind message seen per message id: once each is right. */
const seen = new Map<string, number>();
/** When each message first arrived at a listener (ms since the epoch, as `now()`). */
const arrivedAt = new Map<string, number>();
/** Collects what the listeners saw since the last time. */
async function drainArrivals(): Promise<void> {
  for (const arrivals of await Promise.all(pools.map((pool) => pool.drain()))) {
    for (const [id, at, times] of arrivals) {
      seen.set(id, (seen.get(id) ?? 0) + times);
      if (!Number.isNaN(at) && !arrivedAt.has(id)) arrivedAt.set(id, at);
    }
  }
}
/** Waits (collecting) until every id has arrived or `ms` pass. */
async function awaitArrivals(ids: string[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    await drainArrivals();
    if (!ids.some((id) => !arrivedAt.has(id)) || Date.now() > deadline) return;
    await sleep(20);
  }
}

/** Sockets open, server memory and time since the start, at every tenth of the way. */
const connectCurve: { sockets: number; seconds: number; rssMiB: number }[] = [];
const connectStart = performance.now();
connectCurve.push({ sockets: 0, seconds: 0, rssMiB: rssBefore / 2 ** 20 });
const progress = pools.map(() => 0);
let nextTenth = 1;
pools.forEach((pool, k) => {
  pool.onProgress = (connected: number) => {
    progress[k] = connected;
    const total = progress.reduce((a, b) => a + b, 0);
    output.progress('Connections', total, sockets);
    while (nextTenth <= 10 && total >= Math.ceil((sockets * nextTenth) / 10)) {
      connectCurve.push({
        sockets: total,
        seconds: (performance.now() - connectStart) / 1000,
        rssMiB: serverRss(pid) / 2 ** 20,
      });
      nextTenth++;
    }
  };
});
const shares = pools.map((_, k) => listeners.filter((_, i) => i % CLIENT_PROCESSES === k));
const connected = await Promise.all(
  pools.map((pool, k) => {
    const share = shares[k] as { token: string }[];
    // Progress often enough for a point at every tenth of all the sockets.
    const every = Math.max(1, Math.floor(sockets / 100 / CLIENT_PROCESSES));
    return pool.connect(live.url, share, CONNECT_IN_FLIGHT / CLIENT_PROCESSES, every);
  }),
);
const connectSeconds = (performance.now() - connectStart) / 1000;
const refusedSockets = connected.reduce((sum, c) => sum + c.refused, 0);
const held = connected.reduce((sum, c) => sum + c.held, 0);
output.progress('Connections', sockets, sockets);
await sleep(1000);
const rssAfter = serverRss(pid);
const serverClientsWithSockets = (await connectedClients()) - idleClients;

// ---- latency ----------------------------------------------------------------------------

const agent = new Agent({ keepAlive: true, maxSockets: 200 });
const { port } = new URL(live.url);

/** One PUT with the keep-alive agent; resolves with its status. */
function put(sender: { token: string }, to: string, id: string): Promise<number> {
  return new Promise((resolve) => {
    const body = JSON.stringify({ to, text });
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: `/api/v1/messages/${id}`,
        agent,
        timeout: 10_000,
        headers: {
          authorization: `Bearer ${sender.token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', () => resolve(0));
    req.once('timeout', () => req.destroy());
    req.end(body);
  });
}

interface Latency {
  rate: number;
  offered: number;
  accepted: number;
  delivered: number;
  lost: number;
  doubled: number;
  p50: number;
  p99: number;
  /** CPU used while sending, in cores: the server, the senders (this process), the socket clients' processes, Redis. */
  serverCores: number;
  benchCores: number;
  clientCores: number;
  redisCores: number;
  /** Messages a second the sender managed to put on the wire (below `rate` when it fell behind). */
  achieved: number;
}

async function latencyAt(rate: number, seconds = size.latencySeconds): Promise<Latency> {
  const sentAt = new Map<string, number>();
  const pending: Promise<unknown>[] = [];
  let accepted = 0;
  const ticks = seconds * 100;
  const perTick = rate / 100;
  const start = performance.now();
  const serverCpu = cpuSeconds(pid);
  const benchCpu = ownCpuSeconds();
  const clientCpu = poolPids().map(cpuSeconds);
  const redisCpu = cpuSeconds(redis.process.pid as number);
  for (let tick = 0; tick < ticks; tick++) {
    const due = start + (tick + 1) * 10;
    for (let k = 0; k < perTick; k++) {
      const id = randomUUID();
      const sender = senders[(tick * perTick + k) % senders.length] as { token: string };
      const to = listeners[Math.floor(Math.random() * listeners.length)]?.id as string;
      sentAt.set(id, now());
      pending.push(
        put(sender, to, id).then((status) => {
          if (status === 201) accepted++;
        }),
      );
    }
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
  }
  const elapsed = (performance.now() - start) / 1000;
  const achieved = sentAt.size / elapsed;
  const serverCores = (cpuSeconds(pid) - serverCpu) / elapsed;
  const benchCores = (ownCpuSeconds() - benchCpu) / elapsed;
  const clientCores =
    poolPids().reduce((sum, p, i) => sum + cpuSeconds(p) - (clientCpu[i] as number), 0) / elapsed;
  const redisCores = (cpuSeconds(redis.process.pid as number) - redisCpu) / elapsed;
  await Promise.all(pending);
  const ids = [...sentAt.keys()];
  await awaitArrivals(ids, 10_000);
  await sleep(300); // a late duplicate would come now
  await drainArrivals();
  const latencies: number[] = [];
  let doubled = 0;
  for (const id of ids) {
    const at = arrivedAt.get(id);
    if (at !== undefined) latencies.push(at - (sentAt.get(id) as number));
    doubled += Math.max(0, (seen.get(id) ?? 0) - 1);
  }
  return {
    rate,
    offered: ids.length,
    accepted,
    delivered: latencies.length,
    lost: ids.length - latencies.length,
    doubled,
    p50: median(latencies),
    p99: percentile(latencies, 99),
    achieved,
    serverCores,
    benchCores,
    clientCores,
    redisCores,
  };
}

// A warm-up (not counted): the keep-alive connections open and the route is compiled.
await latencyAt(500, 1);
const latency: Latency[] = [];
for (const [i, rate] of size.rates.entries()) {
  output.progress('Latency', i, size.rates.length);
  latency.push(await latencyAt(rate));
}
output.progress('Latency', size.rates.length, size.rates.length);

// ---- reconnect storm ---------------------------------------------------------------------

/**
 * Every socket dropped at once; messages sent while they are down; then all reconnect
 * at the same moment, from their cursors: time until all are ready and until
 * every message sent while down has arrived, lost and doubled, and whether the server
 * is still up.
 */
async function storm() {
  output.progress('Reconnect storm', 0, 2);
  const fromFirst = (await Promise.all(pools.map((pool) => pool.drop()))).reduce(
    (sum, k) => sum + k,
    0,
  );
  await sleep(500);
  const whileDown = quick ? 500 : 2000;
  const ids: string[] = [];
  let accepted = 0;
  // Only what was accepted can be owed: the ids of the sends answered 201.
  await runConcurrently(whileDown, 50, async (k) => {
    const id = randomUUID();
    const to = listeners[Math.floor(Math.random() * listeners.length)]?.id as string;
    if ((await put(senders[k % senders.length] as { token: string }, to, id)) === 201) {
      accepted++;
      ids.push(id);
    }
  });
  output.progress('Reconnect storm', 1, 2);
  const start = performance.now();
  // All at once (each process opens its share at the same moment), from their cursors.
  const back = await Promise.all(pools.map((pool) => pool.reconnect()));
  const readySeconds = (performance.now() - start) / 1000;
  await awaitArrivals(ids, 30_000);
  const caughtUpSeconds = (performance.now() - start) / 1000;
  await sleep(300);
  await drainArrivals();
  const delivered = ids.filter((id) => arrivedAt.has(id)).length;
  const doubled = ids.reduce((sum, id) => sum + Math.max(0, (seen.get(id) ?? 0) - 1), 0);
  const health = await fetch(`${live.url}/healthz`)
    .then((r) => r.status)
    .catch(() => 0);
  output.progress('Reconnect storm', 2, 2);
  return {
    sockets: listeners.length,
    reconnected: back.reduce((sum, r) => sum + r.reconnected, 0),
    retried: back.reduce((sum, r) => sum + r.retried, 0),
    failed: back.reduce((sum, r) => sum + r.failed, 0),
    sentWhileDown: whileDown,
    accepted,
    fromFirst,
    delivered,
    lost: ids.length - delivered,
    doubled,
    readySeconds,
    caughtUpSeconds,
    serverUp: live.child.exitCode === null && health === 200,
  };
}
const reconnect = await storm();

await Promise.all(pools.map((pool) => pool.close()));
agent.destroy();
await stopServer(live);
await messenger.close();
await probe.close();
await redis.stop();
rmSync(logs, { recursive: true, force: true });

// ---- report -----------------------------------------------------------------------------

const libraryMedian = median(library);
/** What each way is, in the table. */
const WAYS: Record<Way, string> = {
  one: 'one server, PUT /api/v1/messages/:id',
  oneByAutocannon:
    "one server, PUT /api/v1/messages/:id, load by autocannon (in the bench's process)",
  oneLimited:
    'one server with its rate limits on (a send bucket nobody empties), PUT /api/v1/messages/:id',
  two: 'two servers, PUT /api/v1/messages/:id',
  health: 'one server, GET /healthz (no Redis: the HTTP floor), requests/s',
};
const measured = ways.map(([way]) => way);
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, load average ${loadBefore.toFixed(2)} before the run, ${(loadavg()[0] ?? 0).toFixed(2)} after`;
const results = {
  quick,
  machine,
  seconds: Math.round((performance.now() - started) / 1000),
  throughput: {
    inFlight: size.inFlight,
    senders: size.senders,
    rounds: size.rounds,
    tool,
    library,
    rates,
    shareOfLibrary,
    cpu,
    refused,
    /** Each way's median share of the library's rate. */
    ofLibrary: Object.fromEntries(measured.map((way) => [way, median(shareOfLibrary[way])])),
  },
  connections: {
    asked: sockets,
    held,
    refused: refusedSockets,
    connectSeconds,
    rssBefore,
    rssAfter,
    rssPerSocket: (rssAfter - rssBefore) / Math.max(1, held),
    redisConnectionsIdle: serverClients,
    redisConnectionsWithSockets: serverClientsWithSockets,
    clientProcesses: CLIENT_PROCESSES,
    curve: connectCurve,
  },
  latency,
  reconnect,
  goals: [] as Goal[],
};
results.goals = serverGoals({
  refused,
  oneServerShare: results.throughput.ofLibrary.one ?? 0,
  connections: results.connections,
  latency,
  reconnect,
});
const n = (x: number) => Math.round(x).toLocaleString('en');
if (asJson) {
  output.line(JSON.stringify(results, null, 2));
} else {
  output.line(
    `Machine: ${machine}; ${results.seconds} s in all${quick ? ' (quick run)' : ''}; one redis-server, servers with --no-rate-limits unless said, HTTP load by ${tool}${tool === 'wrk' ? ' (and autocannon in one row)' : ' (wrk is not installed)'}`,
  );
  output.line();
  output.line(
    `Throughput (${size.inFlight} in flight, ${size.senders} senders, ${size.seconds} s each, ${size.rounds} rounds, the library measured before and after each way; medians):`,
  );
  const rounds = (xs: number[]) => xs.map(n).join(', ');
  const c2 = (c: Cores) =>
    `${c.bench.toFixed(2)} / ${c.servers.toFixed(2)} / ${c.redis.toFixed(2)}`;
  output.line(
    '| way | messages/s | of the library (its mean before and after) | each round | cores: bench and load tool / server(s) / redis (last round) |',
  );
  output.line('|---|---|---|---|---|');
  output.line(
    `| library, messenger.send | ${n(libraryMedian)} | 1 | ${library.length} measurements, ${n(Math.min(...library))} to ${n(Math.max(...library))} | ${c2(cpu.library)} |`,
  );
  for (const way of measured) {
    output.line(
      `| ${WAYS[way]} | ${n(median(rates[way]))} | ${median(shareOfLibrary[way]).toFixed(2)} | ${rounds(rates[way])} | ${c2(cpu[way])} |`,
    );
  }
  output.line(`Requests not answered 2xx: ${refused}`);
  output.line();
  const c = results.connections;
  output.line(
    `Connections (one server, WebSocket clients in ${CLIENT_PROCESSES} processes of their own, ${CONNECT_IN_FLIGHT} opening at once):`,
  );
  output.line(
    '| sockets asked | held | refused | time to connect all | server RSS before → after | RSS per socket | Redis connections of the server (no sockets → with them) |',
  );
  output.line('|---|---|---|---|---|---|---|');
  output.line(
    `| ${n(c.asked)} | ${n(c.held)} | ${c.refused} | ${c.connectSeconds.toFixed(2)} s | ${n(c.rssBefore / 2 ** 20)} → ${n(c.rssAfter / 2 ** 20)} MiB | ${n(c.rssPerSocket / 1024)} KiB | ${c.redisConnectionsIdle} → ${c.redisConnectionsWithSockets} |`,
  );
  output.line('While connecting (server RSS and time since the first socket, at every tenth):');
  output.line('| sockets open | seconds | server RSS |');
  output.line('|---|---|---|');
  for (const point of connectCurve) {
    output.line(`| ${n(point.sockets)} | ${point.seconds.toFixed(2)} s | ${n(point.rssMiB)} MiB |`);
  }
  output.line();
  output.line(`Latency, PUT sent → receiver's frame, with ${n(held)} sockets open:`);
  output.line(
    '| offered | achieved | accepted | delivered | lost | doubled | p50 | p99 | cores: senders / socket clients / server / redis |',
  );
  output.line('|---|---|---|---|---|---|---|---|---|');
  for (const l of latency) {
    output.line(
      `| ${n(l.rate)}/s | ${n(l.achieved)}/s | ${n(l.accepted)}/${n(l.offered)} | ${n(l.delivered)} | ${l.lost} | ${l.doubled} | ${l.p50.toFixed(1)} ms | ${l.p99.toFixed(1)} ms | ${l.benchCores.toFixed(2)} / ${l.clientCores.toFixed(2)} / ${l.serverCores.toFixed(2)} / ${l.redisCores.toFixed(2)} |`,
    );
  }
  output.line();
  const r = reconnect;
  output.line(
    `Reconnect storm: all ${n(r.sockets)} sockets dropped at once, ${n(r.sentWhileDown)} messages sent while down, then all reconnected at the same moment, each from its cursor (or from the first message, for an inbox that was empty), one that failed trying again after a growing wait (for up to a minute):`,
  );
  output.line(
    '| reconnected | needed a retry | gave up | all ready after | all caught up after | accepted | delivered | lost | doubled | server up | resumed from the first message |',
  );
  output.line('|---|---|---|---|---|---|---|---|---|---|---|');
  output.line(
    `| ${n(r.reconnected)}/${n(r.sockets)} | ${n(r.retried)} | ${r.failed} | ${r.readySeconds.toFixed(2)} s | ${r.caughtUpSeconds.toFixed(2)} s | ${n(r.accepted)}/${n(r.sentWhileDown)} | ${n(r.delivered)} | ${r.lost} | ${r.doubled} | ${r.serverUp ? 'yes' : 'no'} | ${n(r.fromFirst)} |`,
  );
}

// ---- charts -----------------------------------------------------------------------------

if (chartsDir) {
  mkdirSync(chartsDir, { recursive: true });
  const day = new Date().toISOString().slice(0, 10);
  const given = process.argv.slice(2).join(' ');
  const note = `npm run bench:server${given ? ` -- ${given}` : ''}, ${day}; ${cpus().length} cores, load average ${loadBefore.toFixed(1)} before`;
  const latencyChart = lineChart({
    title: `Latency, PUT → receiver's WebSocket frame, ${n(held)} sockets open`,
    x: { label: 'offered rate (messages a second)' },
    left: { label: 'milliseconds' },
    series: [
      { name: 'p50', color: '#2563eb', points: latency.map((l) => [l.rate, l.p50]) },
      { name: 'p99', color: '#dc2626', points: latency.map((l) => [l.rate, l.p99]) },
    ],
    note,
  });
  const connectionsChart = lineChart({
    title: 'Connecting WebSocket clients to one server',
    x: { label: 'sockets open' },
    left: { label: 'server RSS (MiB)' },
    right: { label: 'seconds since the first' },
    series: [
      {
        name: 'server RSS (MiB, left)',
        color: '#7c3aed',
        points: connectCurve.map((p) => [p.sockets, p.rssMiB]),
      },
      {
        name: 'time to connect (s, right)',
        color: '#059669',
        axis: 'right',
        dashed: true,
        points: connectCurve.map((p) => [p.sockets, p.seconds]),
      },
    ],
    note,
  });
  writeFileSync(join(chartsDir, 'server-latency.svg'), latencyChart);
  writeFileSync(join(chartsDir, 'server-connections.svg'), connectionsChart);
  if (!asJson)
    output.line(
      `\nCharts: ${join(chartsDir, 'server-latency.svg')}, ${join(chartsDir, 'server-connections.svg')}`,
    );
}

// ---- verdict ----------------------------------------------------------------------------

const missed = results.goals.filter((goal) => !goal.met);
if (!asJson) {
  output.line('\nGoals (issue 15):');
  output.line('| goal | this run | |');
  output.line('|---|---|---|');
  for (const goal of results.goals)
    output.line(`| ${goal.goal} | ${goal.figure} | ${goal.met ? 'met' : '**missed**'} |`);
}
if (missed.length > 0) {
  process.stderr.write(
    `${missed.length} of ${results.goals.length} goals missed: ${missed.map((goal) => goal.goal).join('; ')}\n`,
  );
  process.exitCode = 1;
}
