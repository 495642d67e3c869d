/**
 * `messenger serve` as a real process for tests, and what talks to a server: JSON calls
 * and a live WebSocket client that records its frames.
 */
import {
  type ChildProcess,
  type ChildProcessByStdio,
  type ChildProcessWithoutNullStreams,
  spawn,
} from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { WebSocket } from 'ws';
import { keepServerOutput } from './suite-logs.js';
import { eventually, within } from './wait.js';

/**
 * The command line of `messenger serve` with `args`: run by tsx from the sources, or
 * `built` from dist/ as an installed package runs it (the server bench: tsx's own
 * helpers cost the server about a twentieth of its CPU under load).
 */
const serveArgv = (args: string[], built = false) => [
  ...(built ? ['dist/cli/bin.js'] : ['--import', 'tsx', 'src/cli/bin.ts']),
  'serve',
  ...args,
];
const serveEnv = (env: Record<string, string> = {}) => ({ ...process.env, NO_COLOR: '1', ...env });

/** Starts `messenger serve` with `args` (give it --redis a throwaway server's URL). */
export function spawnServe(
  args: string[],
  env: Record<string, string> = {},
): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, serveArgv(args), { env: serveEnv(env) });
  // Under `npm run test:faults`, its log is searched for secrets at the end (suite-logs.ts).
  keepServerOutput('serve', child.stdout, child.stderr);
  return child;
}

/**
 * `messenger serve` with its standard error (the access log) written to the open file
 * `stderrFd` instead of a pipe: a pipe that this process, busy with other work, reads
 * late makes the server wait in its log writes, which the bench must not measure.
 * `built`: run from dist/ (see `serveArgv`).
 */
export function spawnServeLoggingTo(
  args: string[],
  stderrFd: number,
  { built = false }: { built?: boolean } = {},
): ChildProcessByStdio<Writable, Readable, null> {
  return spawn(process.execPath, serveArgv(args, built), {
    env: serveEnv(),
    stdio: ['pipe', 'pipe', stderrFd],
  }) as ChildProcessByStdio<Writable, Readable, null>;
}

/** What a `messenger serve` that ends by itself (a refusal) printed, and its exit code. */
export interface ServeOutcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `messenger serve` with `args` until it exits (a refusal: a bad flag, a busy port),
 * without blocking, so that several refusals can be checked at once.
 */
export function serveUntilExit(
  args: string[],
  env: Record<string, string> = {},
): Promise<ServeOutcome> {
  const child = spawnServe(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<ServeOutcome>((resolve) =>
    child.on('close', (status) => resolve({ status, stdout, stderr })),
  );
  return within(START_MS, exited, `serve ${args.join(' ')} to exit`).finally(() =>
    child.kill('SIGKILL'),
  );
}

/**
 * How long a server may take to start: tsx compiles the sources on the way, which took
 * over 20 s on a 2-core machine at load average 11. A bound on a wait, not a timing.
 */
export const START_MS = 45_000;

/** The start-up line the server prints once it listens ("messenger serving on <url>..."). */
export function startupLine(child: ChildProcess): Promise<string> {
  return within(
    START_MS,
    new Promise<string>((resolve, reject) => {
      let seen = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /^messenger serving on .*$/m.exec(seen);
        if (match) resolve(match[0]);
      });
      child.on('exit', (code) => reject(new Error(`serve exited with ${code} before listening`)));
    }),
    'the server to listen',
  );
}

/** The URL the server prints once it listens. */
export async function servingUrl(child: ChildProcess): Promise<string> {
  const line = await startupLine(child);
  const url = /messenger serving on (http:\/\/\S+)/.exec(line)?.[1];
  if (!url) throw new Error(`no URL in the start-up line: ${line}`);
  return url;
}

export function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });
}

/** One JSON call of the API on `base` (http://host:port), as the signed-in `token`. */
export async function api(
  base: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
) {
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: each test reads the fields it expects
  return { status: response.status, json: (await response.json().catch(() => null)) as any };
}

export interface LiveFrame {
  type: string;
  cursor?: string;
  message?: { id: string; text: string; senderId: string };
  [key: string]: unknown;
}

/** An open live socket on `base` (no hello sent yet); records its frames and how it closed. */
export async function openLive(base: string, token: string, headers: Record<string, string> = {}) {
  const socket = new WebSocket(`${base.replace('http', 'ws')}/api/v1/live`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
  });
  const frames: LiveFrame[] = [];
  const closed: { code?: number; at?: number } = {};
  socket.on('message', (data) => frames.push(JSON.parse(String(data))));
  socket.on('close', (code) => {
    closed.code = code;
    closed.at = Date.now();
  });
  await within(
    5000,
    new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    }),
    'the socket to open',
  );
  /** Says hello from `after`, or (`'first'`) from the inbox's first message. */
  const hello = (after: string | null | 'first') =>
    socket.send(
      JSON.stringify(
        after === 'first' ? { type: 'hello', fromFirst: true } : { type: 'hello', after },
      ),
    );
  return { socket, frames, closed, hello };
}

/** A live client on `base` that has said hello (from `after`) and is ready; records frames and its close. */
export async function liveClient(
  base: string,
  token: string,
  after: string | null | 'first' = null,
  headers: Record<string, string> = {},
) {
  const { socket, frames, closed, hello } = await openLive(base, token, headers);
  hello(after);
  await eventually(() => frames.some((f) => f.type === 'ready'), 5000, 'ready');
  const messages = () => frames.filter((f) => f.type === 'message');
  return { socket, frames, closed, messages };
}
