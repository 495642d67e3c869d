/**
 * The README's first command on a machine with nothing configured: `npm start` starts
 * the embedded Redis and serves the messenger on http://127.0.0.1:8080.
 *
 * "Nothing configured" includes no Redis on 127.0.0.1:6379; this machine runs one that is
 * not ours, so the server runs in a network namespace of its own (`unshare --net`), where
 * 127.0.0.1 is empty, with a home folder of its own. The embedded Redis listens on a Unix
 * socket in that home, which is how the test stops it afterwards.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { within } from './support/wait.js';

/** Why a network namespace cannot be made here, or null when it can. */
function noNamespace(): string | null {
  const probe = spawnSync('unshare', ['--net', '--', 'ip', 'link', 'set', 'lo', 'up']);
  if (probe.error) return `unshare or ip is missing (${probe.error.message})`;
  return probe.status === 0 ? null : `unshare --net refused: ${probe.stderr}`.trim();
}

const skip = noNamespace();

it('`npm start` with nothing configured starts the embedded Redis and serves /healthz', {
  skip: skip ?? false,
  timeout: 60_000,
}, async () => {
  const home = mkdtempSync(join(tmpdir(), 'messenger-start-'));
  // Only what a fresh login shell has: no REDIS_URL, PORT, HOST or MESSENGER_*.
  const env = { PATH: process.env.PATH ?? '', HOME: home, LANG: 'C.UTF-8' };
  let child: ChildProcess | undefined;
  try {
    child = spawn('unshare', ['--net', '--', 'sh', '-c', 'ip link set lo up && exec npm start'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, to be stopped as a terminal's Ctrl-C stops it.
      detached: true,
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      err += chunk;
    });
    const started = child as ChildProcess & { pid: number };
    await within(
      45_000,
      new Promise<void>((resolve, reject) => {
        const look = () => {
          if (out.includes('messenger serving on http://127.0.0.1:8080')) resolve();
        };
        started.stdout?.on('data', look);
        started.once('exit', (code) => reject(new Error(`npm start exited (${code}): ${err}`)));
      }),
      'npm start to print the URL to open',
    );
    assert.match(err, /Started a local redis-server for redis-messenger/);
    // curl inside the server's namespace: 127.0.0.1:8080 there is the server.
    const probe = spawnSync(
      'nsenter',
      [`--net=/proc/${child.pid}/ns/net`, '--', 'curl', '-s', 'http://127.0.0.1:8080/healthz'],
      { encoding: 'utf8', timeout: 10_000 },
    );
    assert.equal(probe.status, 0, probe.stderr);
    assert.deepEqual(JSON.parse(probe.stdout), { ok: true });
    // npm does not pass SIGTERM on to its script: signal the whole group, as a terminal
    // does. The pipes close once the server itself has exited.
    const closed = new Promise((resolve) => started.once('close', resolve));
    process.kill(-started.pid, 'SIGTERM');
    await within(15_000, closed, 'the server to stop');
    assert.match(err, /stopping: finishing requests in flight/);
  } finally {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // It had gone already.
      }
    }
    // The embedded Redis outlives the server on purpose (the CLI reuses it): stop it.
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'local-redis', 'stop'], {
      env,
      timeout: 15_000,
    });
    rmSync(home, { recursive: true, force: true });
  }
});
