/**
 * HTTP load for the server bench, by a well-known tool: wrk (C, one thread, bench/wrk.lua)
 * where it is installed, else autocannon (Node, in the bench's own process). On
 * one machine the tool's CPU is taken from the cores the server and Redis share; wrk
 * needs a fraction of autocannon's per request, so its figures are nearer what the
 * server does when its clients are other machines (docs/performance.md measures both).
 *
 * Sends are `PUT /api/v1/messages/<fresh UUID>` with HTTP keep-alive, the senders taking
 * turns (autocannon: one sender per connection; wrk: the next sender at each request).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export type LoadTool = 'wrk' | 'autocannon';

/** A signed-in sender and the JSON body of their sends (`{ to, text }`). */
export interface Sender {
  token: string;
  body: string;
}

export interface Load {
  /** The server's base URL (no trailing slash). */
  url: string;
  connections: number;
  seconds: number;
  /** Who sends; without senders, `GET path`. */
  senders?: Sender[];
  path?: string;
}

export interface LoadResult {
  /** Answers 2xx (by wrk: under 400, as wrk counts; the server answers nothing 1xx or 3xx here). */
  ok: number;
  /** Answers of any other status, and requests that failed (socket errors, timeouts). */
  refused: number;
  seconds: number;
}

const WRK_SCRIPT = fileURLToPath(new URL('./wrk.lua', import.meta.url));

/** Whether `wrk` is on the PATH (Debian: `apt-get install wrk`). */
export function hasWrk(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

export function load(tool: LoadTool, work: Load): Promise<LoadResult> {
  return tool === 'wrk' ? byWrk(work) : byAutocannon(work);
}

async function byAutocannon({ url, connections, seconds, senders, path }: Load) {
  let client = 0;
  const result = await autocannon({
    url: senders ? url : `${url}${path ?? '/'}`,
    connections,
    pipelining: 1,
    duration: seconds,
    ...(senders && {
      setupClient: (c: autocannon.Client) => {
        const sender = senders[client++ % senders.length] as Sender;
        c.setHeaders({
          authorization: `Bearer ${sender.token}`,
          'content-type': 'application/json',
        });
        c.setBody(sender.body);
      },
      requests: [
        {
          method: 'PUT' as const,
          setupRequest: (req: autocannon.Request) => ({
            ...req,
            path: `/api/v1/messages/${crypto.randomUUID()}`,
          }),
        },
      ],
    }),
  });
  return {
    ok: result['2xx'],
    // autocannon counts its timeouts among its errors.
    refused: result.non2xx + result.errors,
    seconds: result.duration,
  };
}

async function byWrk({ url, connections, seconds, senders, path }: Load): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-messenger-wrk-'));
  try {
    const args = [String(randomInt(2 ** 31 - 1))];
    if (senders) {
      const file = join(dir, 'senders');
      writeFileSync(file, senders.map((s) => `${s.token} ${s.body}\n`).join(''));
      args.push(file);
    }
    const target = senders ? url : `${url}${path ?? '/'}`;
    const out = await run('wrk', [
      '-t1',
      `-c${connections}`,
      `-d${seconds}s`,
      '--timeout',
      '10s',
      '-s',
      WRK_SCRIPT,
      target,
      '--',
      ...args,
    ]);
    const line = out.split('\n').find((l) => l.startsWith('{"requests"'));
    if (!line) throw new Error(`wrk printed no summary:\n${out}`);
    const s = JSON.parse(line) as Record<string, number>;
    // A request wrk timed out is counted again when its answer comes (then in `requests`),
    // so the late ones are left out of `ok` and counted once, as refused.
    const late = s.timeout ?? 0;
    const failed = (s.connect ?? 0) + (s.read ?? 0) + (s.write ?? 0) + late;
    const status = s.status ?? 0;
    return {
      ok: Math.max(0, (s.requests ?? 0) - status - late),
      refused: status + failed,
      seconds: (s.durationUs ?? 0) / 1e6,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A child's standard output once it exits 0 (waited for: its CPU counts as the bench's children's). */
function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args);
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} exited ${code}: ${err}${out}`)),
    );
  });
}
