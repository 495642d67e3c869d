/**
 * The embedded default: a redis-server of our own, started on demand as a daemon that
 * outlives the process, listening only on a unix socket in the data folder (no TCP port),
 * with the append-only file on. Later runs reuse it; `stopLocalServer` stops it and keeps
 * the data. Only node built-ins here: PING and SHUTDOWN are a few bytes of RESP by hand.
 *
 * @example
 * ```ts
 * const url = await resolveRedisUrl({ onStarted: (line) => console.error(line) });
 * ```
 * @module
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { appendFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { MessengerError, RedisServerNotInstalledError } from '../errors.js';
import { namedTarget } from './target.js';

/** How long a probe of a Redis the user may already run can take. */
const PROBE_TIMEOUT_MS = 300;
/** How long one PING or SHUTDOWN on our own socket can take. */
const ASK_TIMEOUT_MS = 1000;
/** How long a start may take, from spawning to the first PONG. */
const START_TIMEOUT_MS = 5000;
/** How long a stop may take, from SHUTDOWN to the process being gone. */
const STOP_TIMEOUT_MS = 10_000;
/** sun_path holds 108 bytes on Linux and 104 on macOS, the terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = process.platform === 'darwin' ? 103 : 107;

/** Where the embedded server keeps its data, socket, pidfile and log. */
export function localDataDir(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG spec says to ignore an empty or relative XDG_DATA_HOME.
  const xdg = env.XDG_DATA_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'share');
  return join(base, 'redis-messenger');
}

/** Where the embedded server lives and what starts it. */
export interface LocalServerOptions {
  /** The data folder. Default: `localDataDir()`. */
  dataDir?: string;
  /** The redis-server binary, a name looked up on PATH or a path. Default: `'redis-server'`. */
  redisServer?: string;
}

/** The outcome of `ensureLocalServer`. */
export interface LocalServer {
  /** `unix://` and the absolute socket path, each segment percent-encoded. */
  url: string;
  /** Whether this call started the server (false: one was already running). */
  started: boolean;
  /** The absolute data folder. */
  dataDir: string;
}

/** What `localServerStatus` reports. */
export interface LocalServerStatus {
  /** Whether a server answers on the socket. */
  running: boolean;
  /** Its process id, from the pidfile, when it is running. */
  pid: number | null;
  /** The URL it answers (or would answer) on. */
  url: string;
  /** The absolute data folder. */
  dataDir: string;
}

interface LocalPaths {
  dir: string;
  socket: string;
  pidfile: string;
  log: string;
  lock: string;
  url: string;
  redisServer: string;
}

function localPaths(options: LocalServerOptions = {}): LocalPaths {
  const dir = resolve(options.dataDir ?? localDataDir());
  const socket = join(dir, 'redis.sock');
  const bytes = Buffer.byteLength(socket);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new MessengerError(
      `the socket path ${socket} is too long for a unix socket (${bytes} bytes, at most ${MAX_SOCKET_PATH_BYTES}): choose a shorter data folder`,
    );
  }
  return {
    dir,
    socket,
    pidfile: join(dir, 'redis.pid'),
    log: join(dir, 'redis.log'),
    lock: join(dir, 'redis.start.lock'),
    // Encoded so that a '#', '?' or '%' in a home folder survives URL parsing.
    url: `unix://${socket.split('/').map(encodeURIComponent).join('/')}`,
    redisServer: options.redisServer ?? 'redis-server',
  };
}

type Target = { path: string } | { host: string; port: number };

/**
 * Sends one inline command and resolves with the first line of the reply, or null when
 * nothing could be reached, the connection closed without a reply, or time ran out.
 */
function ask(target: Target, command: string, timeoutMs: number): Promise<string | null> {
  return new Promise((resolveReply) => {
    let reply = '';
    const socket: Socket = createConnection(target);
    const finish = (line: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolveReply(line);
    };
    // A timer rather than socket.setTimeout: that one only counts idle time once connected.
    const timer = setTimeout(() => finish(null), timeoutMs);
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      const end = reply.indexOf('\r\n');
      if (end !== -1) finish(reply.slice(0, end));
    });
    socket.once('error', () => finish(null));
    socket.once('close', () => finish(null));
  });
}

/** PING on our socket: the first line of the reply, or null if nothing answered. */
function ping(paths: LocalPaths): Promise<string | null> {
  return ask({ path: paths.socket }, 'PING', ASK_TIMEOUT_MS);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String(error.code)
    : undefined;
}

/** Whether the process exists; a zombie (exited, not yet reaped) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  try {
    // The daemon is reparented to PID 1, which may be slow (or never) to reap it.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ...", and comm may itself contain ") ".
    const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
    return state !== 'Z';
  } catch {
    return false;
  }
}

/** The command line of a process, or null if it cannot be read. */
function commandLine(pid: number): string | null {
  try {
    if (process.platform === 'linux') {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    }
    return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], {
      encoding: 'utf8',
      timeout: 1000,
    });
  } catch {
    return null;
  }
}

/** The pid in the pidfile, or null. */
async function readPid(paths: LocalPaths): Promise<number | null> {
  const text = await readFile(paths.pidfile, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * The pid in the pidfile if that process is alive and is our redis-server. A pidfile left
 * by a crash can name a pid that now belongs to something else (even the user's own
 * redis-server), which we must never signal: ours names our socket on its command line,
 * as `--unixsocket <path>` or, once it has set its title (Redis 6.2+), `unixsocket:<path>`.
 */
async function serverPid(paths: LocalPaths): Promise<number | null> {
  const pid = await readPid(paths);
  if (pid === null || !isAlive(pid)) return null;
  return commandLine(pid)?.includes(paths.socket) ? pid : null;
}

/**
 * Polls PING on the socket until PONG; throws a MessengerError at the deadline, or as soon
 * as the pidfile names a dead process if `watchPidfile` (only when the pidfile is known to
 * be fresh: another process's start may not have cleared a stale one yet).
 */
async function waitUntilReady(
  paths: LocalPaths,
  timeoutMs: number,
  watchPidfile = true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await ping(paths)) === '+PONG') return;
    // The daemon writes its pidfile before loading the AOF; once that process is gone,
    // waiting longer cannot help.
    const pid = watchPidfile ? await readPid(paths) : null;
    const crashed = pid !== null && !isAlive(pid);
    if (crashed || Date.now() >= deadline) {
      throw new MessengerError(
        `the local redis-server did not start${crashed ? '' : ` within ${timeoutMs / 1000} s`}: see ${paths.log}`,
      );
    }
    await sleep(50);
  }
}

/**
 * Takes the start lock, so that two processes starting at once do not run two servers on
 * one AOF. Returns false if another process holds a fresh lock.
 */
async function takeStartLock(paths: LocalPaths): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(paths.lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      return true;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
      // A lock older than any start could take was left by a process that died mid-start.
      const lockedAt = (await stat(paths.lock).catch(() => null))?.mtimeMs ?? 0;
      if (Date.now() - lockedAt < 2 * START_TIMEOUT_MS) return false;
      await rm(paths.lock, { force: true });
    }
  }
  return false;
}

/** Runs redis-server in the foreground until it has daemonized (it exits) or failed. */
async function spawnDaemon(paths: LocalPaths): Promise<void> {
  const { dir } = paths;
  const args = [
    '--daemonize',
    'yes',
    '--pidfile',
    paths.pidfile,
    '--logfile',
    paths.log,
    '--dir',
    dir,
    '--port',
    '0',
    '--unixsocket',
    paths.socket,
    '--unixsocketperm',
    '700',
    '--appendonly',
    'yes',
    '--save',
    '',
  ];
  const child = spawn(paths.redisServer, args, {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.unref();
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const outcome = await new Promise<{ code: number | null; error?: Error }>((settle) => {
    const timer = setTimeout(() => settle({ code: null }), START_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      settle({ code: null, error });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      settle({ code });
    });
  });
  // The daemon reopens stderr on /dev/null, but a stray holder must not keep us alive.
  child.stderr?.destroy();
  if (outcome.error) {
    if (errorCode(outcome.error) === 'ENOENT') {
      throw new RedisServerNotInstalledError({ cause: outcome.error });
    }
    throw new MessengerError(`cannot run ${paths.redisServer}: ${outcome.error.message}`, {
      cause: outcome.error,
    });
  }
  if (outcome.code !== 0) {
    if (outcome.code === null) child.kill('SIGKILL');
    // Errors in the arguments go to stderr before the log file is open: keep them there too.
    await appendFile(paths.log, stderr || `redis-server exited with code ${outcome.code}\n`);
    throw new MessengerError(`the local redis-server did not start: see ${paths.log}`);
  }
}

/**
 * Makes sure our redis-server runs: reuses the one answering on `<dataDir>/redis.sock`, or
 * starts one as a daemon that outlives this process.
 *
 * @throws RedisServerNotInstalledError when the redis-server binary is not found.
 * @throws MessengerError when it does not start (the message names its log) or the socket
 * path is too long.
 * @example
 * ```ts
 * const { url, started } = await ensureLocalServer();
 * ```
 */
export async function ensureLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const paths = localPaths(options);
  const result = (started: boolean): LocalServer => ({
    url: paths.url,
    started,
    dataDir: paths.dir,
  });

  if ((await ping(paths)) !== null) {
    // Anything but PONG here is a server still loading its AOF.
    await waitUntilReady(paths, START_TIMEOUT_MS);
    return result(false);
  }
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  if (!(await takeStartLock(paths))) {
    await waitUntilReady(paths, 2 * START_TIMEOUT_MS, false);
    return result(false);
  }
  try {
    // Another process may have finished starting one between our PING and the lock.
    if ((await ping(paths)) !== null) {
      await waitUntilReady(paths, START_TIMEOUT_MS);
      return result(false);
    }
    const pid = await serverPid(paths);
    if (pid !== null) {
      // Alive but deaf: a second server would share its AOF, so leave the choice to a person.
      throw new MessengerError(
        `the local redis-server (pid ${pid}) does not answer on ${paths.socket}: stop it (kill ${pid}) or see ${paths.log}`,
      );
    }
    // Left over from a server that crashed.
    await rm(paths.socket, { force: true });
    await rm(paths.pidfile, { force: true });
    await spawnDaemon(paths);
    await waitUntilReady(paths, START_TIMEOUT_MS);
    return result(true);
  } finally {
    await rm(paths.lock, { force: true });
  }
}

/** Whether our redis-server is running, its pid and its URL. Starts nothing. */
export async function localServerStatus(
  options: LocalServerOptions = {},
): Promise<LocalServerStatus> {
  const paths = localPaths(options);
  const running = (await ping(paths)) !== null;
  return {
    running,
    // While it answers, the pidfile is the one it wrote when it started.
    pid: running ? await readPid(paths) : null,
    url: paths.url,
    dataDir: paths.dir,
  };
}

/**
 * Stops our redis-server (SHUTDOWN on the socket, else SIGTERM to the pid in the pidfile)
 * and waits until it is gone. The data (the AOF) stays for the next start.
 *
 * @returns whether a server was running.
 * @throws MessengerError when it refuses to stop or does not stop in time.
 */
export async function stopLocalServer(options: LocalServerOptions = {}): Promise<boolean> {
  const paths = localPaths(options);
  const answering = (await ping(paths)) !== null;
  const pid = answering ? await readPid(paths) : await serverPid(paths);
  if (!answering && pid === null) return false;

  if (answering) {
    // On success the server closes the connection without a reply.
    const reply = await ask({ path: paths.socket }, 'SHUTDOWN', STOP_TIMEOUT_MS);
    if (reply?.startsWith('-')) {
      throw new MessengerError(
        `the local redis-server refused to stop (${reply.slice(1)}): see ${paths.log}`,
      );
    }
  } else if (pid !== null) {
    process.kill(pid, 'SIGTERM');
  }

  const deadline = Date.now() + STOP_TIMEOUT_MS;
  for (;;) {
    const gone = pid !== null ? !isAlive(pid) : (await ping(paths)) === null;
    if (gone) return true;
    if (Date.now() >= deadline) {
      throw new MessengerError(
        `the local redis-server${pid === null ? '' : ` (pid ${pid})`} did not stop within ${STOP_TIMEOUT_MS / 1000} s: see ${paths.log}`,
      );
    }
    await sleep(50);
  }
}

/** Where `resolveRedisUrl` looks for a Redis the user already runs. */
const DEFAULT_PROBE_URL = 'redis://127.0.0.1:6379';

/** What `resolveRedisUrl` considers, in order. */
export interface ResolveRedisUrlOptions extends LocalServerOptions {
  /** An explicit URL, e.g. from `--url`; wins over everything. */
  url?: string;
  /** Where `REDIS_URL` is read. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** A Redis used if it answers PING within 300 ms. Default: `redis://127.0.0.1:6379`. */
  probeUrl?: string;
  /** Told, in one line, when a local server was started. */
  onStarted?: (message: string) => void;
  /** The command that stops the local server, for that line. Default: `messenger local-redis stop`. */
  stopCommand?: string;
}

/** Which Redis `resolveRedis` chose, and what made it choose that one. */
export interface ResolvedRedis {
  url: string;
  /**
   * `given`: the explicit `url`; `REDIS_URL`: the environment; `running`: a Redis answered
   * at `probeUrl`; `local`: our own local server (started now if `started`).
   */
  source: 'given' | 'REDIS_URL' | 'running' | 'local';
  started: boolean;
}

/** Whether something speaking RESP answers at the URL within the probe timeout. */
async function answers(url: string): Promise<boolean> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  let target: Target;
  if (parsed.protocol === 'unix:') {
    target = { path: decodeURIComponent(parsed.pathname) };
  } else {
    // URL keeps IPv6 hosts in brackets; net wants them bare.
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
    target = { host, port: Number(parsed.port || 6379) };
  }
  // A PONG, or an error such as NOAUTH or LOADING: either way a Redis is there.
  // (A rediss:// server answers nothing to plain text, so it is never probed as present.)
  const reply = await ask(target, 'PING', PROBE_TIMEOUT_MS);
  return reply !== null && /^[+-]/.test(reply);
}

/**
 * The Redis to use: an explicit `url`, else `REDIS_URL`, else a Redis answering at
 * `probeUrl`, else our own local server (started if need be, and then said so in one line).
 * Every step has a bounded timeout.
 *
 * @example
 * ```ts
 * const url = await resolveRedisUrl({ url: flags.url, onStarted: (line) => console.error(line) });
 * ```
 */
export async function resolveRedisUrl(options: ResolveRedisUrlOptions = {}): Promise<string> {
  return (await resolveRedis(options)).url;
}

/** As `resolveRedisUrl`, also saying where the URL came from (for messages that name it). */
export async function resolveRedis(options: ResolveRedisUrlOptions = {}): Promise<ResolvedRedis> {
  // One Redis named by the caller or REDIS_URL: the one rule for that, in ./target.ts.
  const named = namedTarget(
    { url: options.url },
    { REDIS_URL: (options.env ?? process.env).REDIS_URL },
  );
  if (named?.target.kind === 'standalone') {
    const source = named.source === 'given' ? 'given' : 'REDIS_URL';
    return { url: named.target.url, source, started: false };
  }
  const probeUrl = options.probeUrl ?? DEFAULT_PROBE_URL;
  if (await answers(probeUrl)) return { url: probeUrl, source: 'running', started: false };
  const local = await ensureLocalServer(options);
  if (local.started) {
    options.onStarted?.(
      `Started a local redis-server for redis-messenger (data in ${local.dataDir}); stop it with: ${options.stopCommand ?? 'messenger local-redis stop'}`,
    );
  }
  return { url: local.url, source: 'local', started: local.started };
}
