import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createClient } from 'redis';
import { MessengerError, RedisServerNotInstalledError } from '../src/errors.js';
import {
  ensureLocalServer,
  localDataDir,
  localServerStatus,
  resolveRedis,
  resolveRedisUrl,
  stopLocalServer,
} from '../src/redis/local-server.js';
import { freePort, startRedisServer } from './support/redis-server.js';

/** The pid in a data folder's pidfile, or null. */
async function pidIn(dataDir: string): Promise<number | null> {
  const text = await readFile(join(dataDir, 'redis.pid'), 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) ? pid : null;
}

/**
 * Runs `body` with a fresh, short temp folder (so the socket path fits); afterwards stops
 * any server started there, kills any that survived, and removes the folder.
 */
async function withTempDir(body: (tempDir: string) => Promise<void>): Promise<void> {
  const tempDir = await mkdtemp(join(tmpdir(), 'rmls-'));
  try {
    await body(tempDir);
  } finally {
    try {
      for (const dataDir of [tempDir, join(tempDir, 'data')]) await stopLocalServer({ dataDir });
    } finally {
      await killServersIn(tempDir);
      await rm(tempDir, { recursive: true, force: true });
    }
  }
}

/**
 * SIGKILLs every process whose command line names a socket under `folder`: a failed test
 * may leave a server its pidfile no longer names. (Linux; elsewhere the stop must do.)
 */
async function killServersIn(folder: string): Promise<void> {
  const pids = await readdir('/proc').catch(() => []);
  for (const entry of pids) {
    if (!/^\d+$/.test(entry)) continue;
    const command = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (command.includes(`${folder}/`) && command.includes('redis.sock')) {
      process.kill(Number(entry), 'SIGKILL');
    }
  }
}

function socketClient(socketPath: string) {
  return createClient({ socket: { path: socketPath, reconnectStrategy: false } });
}

/** Runs `body` with a client connected to a unix socket, closing it afterwards. */
async function withClient(
  socketPath: string,
  body: (client: ReturnType<typeof socketClient>) => Promise<void>,
): Promise<void> {
  const client = socketClient(socketPath);
  client.on('error', () => {});
  await client.connect();
  try {
    await body(client);
  } finally {
    client.destroy();
  }
}

/**
 * Whether a process has exited. The daemon is not our child: it is reparented to PID 1,
 * which may leave it a zombie for a while, so a zombie counts as exited.
 */
async function hasExited(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat !== null && stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z';
}

describe('localDataDir', () => {
  it('uses XDG_DATA_HOME when it is set', () => {
    assert.equal(localDataDir({ XDG_DATA_HOME: '/srv/data' }), '/srv/data/redis-messenger');
  });

  it('falls back to ~/.local/share without it, or with an empty or relative one', () => {
    const fallback = join(homedir(), '.local', 'share', 'redis-messenger');
    assert.equal(localDataDir({}), fallback);
    assert.equal(localDataDir({ XDG_DATA_HOME: '' }), fallback);
    assert.equal(localDataDir({ XDG_DATA_HOME: 'relative/data' }), fallback);
  });
});

describe('ensureLocalServer', () => {
  it('starts a server on a unix socket only, then reuses it', () =>
    withTempDir(async (tempDir) => {
      const dataDir = join(tempDir, 'data');
      const socketPath = join(dataDir, 'redis.sock');

      const first = await ensureLocalServer({ dataDir });
      assert.deepEqual(first, { url: `unix://${socketPath}`, started: true, dataDir });
      assert.equal((await stat(dataDir)).mode & 0o777, 0o700);

      const second = await ensureLocalServer({ dataDir });
      assert.deepEqual(second, { url: first.url, started: false, dataDir });

      await withClient(socketPath, async (client) => {
        await client.set('greeting', 'hello');
        assert.equal(await client.get('greeting'), 'hello');
        assert.deepEqual(await client.configGet('port'), { port: '0' });
        assert.deepEqual(await client.configGet('appendonly'), { appendonly: 'yes' });
      });
    }));

  it('keeps the data across a stop and a start', () =>
    withTempDir(async (dataDir) => {
      const socketPath = join(dataDir, 'redis.sock');
      await ensureLocalServer({ dataDir });
      await withClient(socketPath, async (client) => {
        await client.set('kept', 'yes');
      });
      assert.equal(await stopLocalServer({ dataDir }), true);
      assert.equal((await ensureLocalServer({ dataDir })).started, true);
      await withClient(socketPath, async (client) => {
        assert.equal(await client.get('kept'), 'yes');
      });
    }));

  it('starts only one server when two callers race', () =>
    withTempDir(async (dataDir) => {
      const results = await Promise.all([
        ensureLocalServer({ dataDir }),
        ensureLocalServer({ dataDir }),
      ]);
      assert.deepEqual(results.map((result) => result.started).sort(), [false, true]);
      assert.equal(results[0]?.url, results[1]?.url);
      assert.equal((await localServerStatus({ dataDir })).running, true);
    }));

  it('starts afresh over the socket and pidfile of a crashed server', () =>
    withTempDir(async (dataDir) => {
      await ensureLocalServer({ dataDir });
      const crashed = await pidIn(dataDir);
      assert.ok(crashed !== null);
      process.kill(crashed, 'SIGKILL');
      // SIGKILL leaves both files behind.
      const status = await waitFor(async () => {
        const current = await localServerStatus({ dataDir });
        return current.running ? null : current;
      });
      assert.equal(status.pid, null);
      await stat(join(dataDir, 'redis.sock'));
      assert.equal(await pidIn(dataDir), crashed);

      const restarted = await ensureLocalServer({ dataDir });
      assert.equal(restarted.started, true);
      assert.notEqual(await pidIn(dataDir), crashed);
      assert.equal((await localServerStatus({ dataDir })).running, true);
    }));

  it('starts afresh over leftovers, never signalling the process a stale pidfile names', () =>
    withTempDir(async (dataDir) => {
      await writeFile(join(dataDir, 'redis.sock'), '');
      // After a reboot the pid of a crashed server may belong to anything, here to us.
      await writeFile(join(dataDir, 'redis.pid'), `${process.pid}\n`);
      assert.equal((await localServerStatus({ dataDir })).running, false);
      assert.equal(await stopLocalServer({ dataDir }), false);
      assert.equal((await ensureLocalServer({ dataDir })).started, true);
      assert.equal((await localServerStatus({ dataDir })).running, true);
    }));

  it('refuses to start a second server beside one that lost its socket', () =>
    withTempDir(async (dataDir) => {
      await ensureLocalServer({ dataDir });
      const pid = await pidIn(dataDir);
      assert.ok(pid !== null);
      await rm(join(dataDir, 'redis.sock'));
      await assert.rejects(ensureLocalServer({ dataDir }), (error) => {
        assert.ok(error instanceof MessengerError);
        assert.ok(error.message.includes(`pid ${pid}`), error.message);
        return true;
      });
      // It no longer answers SHUTDOWN, so the stop falls back on SIGTERM.
      assert.equal(await stopLocalServer({ dataDir }), true);
      assert.equal(await hasExited(pid), true);
    }));

  it('rejects with RedisServerNotInstalledError when the binary is missing', () =>
    withTempDir(async (dataDir) => {
      await assert.rejects(
        ensureLocalServer({ dataDir, redisServer: 'redis-server-does-not-exist' }),
        RedisServerNotInstalledError,
      );
    }));

  it('names the log when redis-server exits with an error', () =>
    withTempDir(async (dataDir) => {
      const fake = join(dataDir, 'fake-redis-server');
      await writeFile(fake, '#!/bin/sh\necho "FATAL: a bad argument" >&2\nexit 1\n');
      await chmod(fake, 0o755);
      const log = join(dataDir, 'redis.log');
      await assert.rejects(ensureLocalServer({ dataDir, redisServer: fake }), (error) => {
        assert.ok(error instanceof MessengerError);
        assert.ok(!(error instanceof RedisServerNotInstalledError));
        assert.ok(error.message.includes(log), error.message);
        assert.ok(!error.message.includes('\n'));
        return true;
      });
      assert.match(await readFile(log, 'utf8'), /FATAL: a bad argument/);
    }));

  it('names the log when the daemon dies while loading its data', () =>
    withTempDir(async (dataDir) => {
      const aofDir = join(dataDir, 'appendonlydir');
      await mkdir(aofDir);
      await writeFile(join(aofDir, 'appendonly.aof.manifest'), 'not a manifest\n');
      const started = Date.now();
      await assert.rejects(ensureLocalServer({ dataDir }), (error) => {
        assert.ok(error instanceof MessengerError);
        assert.ok(error.message.includes(join(dataDir, 'redis.log')), error.message);
        return true;
      });
      // A daemon that is gone is noticed without waiting for the whole start timeout.
      assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
      assert.equal((await localServerStatus({ dataDir })).running, false);
    }));

  it('refuses a data folder whose socket path is too long', async () => {
    const dataDir = join(tmpdir(), 'x'.repeat(120));
    await assert.rejects(ensureLocalServer({ dataDir }), (error) => {
      assert.ok(error instanceof MessengerError);
      assert.ok(error.message.includes(join(dataDir, 'redis.sock')), error.message);
      assert.match(error.message, /too long/);
      return true;
    });
  });
});

describe('localServerStatus and stopLocalServer', () => {
  it('report, stop, and keep the data', () =>
    withTempDir(async (dataDir) => {
      const url = `unix://${join(dataDir, 'redis.sock')}`;
      assert.deepEqual(await localServerStatus({ dataDir }), {
        running: false,
        pid: null,
        url,
        dataDir,
      });

      await ensureLocalServer({ dataDir });
      const pid = await pidIn(dataDir);
      assert.ok(pid !== null);
      assert.deepEqual(await localServerStatus({ dataDir }), { running: true, pid, url, dataDir });

      assert.equal(await stopLocalServer({ dataDir }), true);
      assert.equal(await hasExited(pid), true);
      assert.equal((await localServerStatus({ dataDir })).running, false);
      await stat(join(dataDir, 'appendonlydir'));

      assert.equal(await stopLocalServer({ dataDir }), false);
    }));
});

describe('resolveRedisUrl', () => {
  it('prefers an explicit url, then REDIS_URL, without starting anything', () =>
    withTempDir(async (tempDir) => {
      const dataDir = join(tempDir, 'data');
      const env = { REDIS_URL: 'redis://from-env:6379' };
      const probeUrl = `redis://127.0.0.1:${await freePort()}`;
      assert.equal(
        await resolveRedisUrl({ url: 'redis://explicit:6379', env, probeUrl, dataDir }),
        'redis://explicit:6379',
      );
      assert.equal(await resolveRedisUrl({ env, probeUrl, dataDir }), 'redis://from-env:6379');
      await assert.rejects(stat(dataDir), { code: 'ENOENT' });
    }));

  it('uses a Redis that answers at probeUrl', async () => {
    const server = await startRedisServer();
    try {
      await withTempDir(async (tempDir) => {
        const dataDir = join(tempDir, 'data');
        const onStarted = (line: string) => assert.fail(`started a server: ${line}`);
        const url = await resolveRedisUrl({ env: {}, probeUrl: server.url, dataDir, onStarted });
        assert.equal(url, server.url);
        await assert.rejects(stat(dataDir), { code: 'ENOENT' });
      });
    } finally {
      await server.stop();
    }
  });

  it('starts the local server when nothing listens at probeUrl, and says so once', () =>
    withTempDir(async (dataDir) => {
      const probeUrl = `redis://127.0.0.1:${await freePort()}`;
      const lines: string[] = [];
      const onStarted = (line: string) => lines.push(line);

      // From a checkout the CLI passes the command that works there.
      const stopCommand = 'npm run messenger -- local-redis stop';
      const chosen = await resolveRedis({ env: {}, probeUrl, dataDir, onStarted, stopCommand });
      const url = chosen.url;
      assert.equal(url, `unix://${join(dataDir, 'redis.sock')}`);
      assert.deepEqual([chosen.source, chosen.started], ['local', true]);
      assert.equal(lines.length, 1);
      assert.ok(!lines[0]?.includes('\n'));
      assert.ok(lines[0]?.includes(dataDir));
      assert.match(lines[0] ?? '', /stop it with: npm run messenger -- local-redis stop$/);

      assert.equal(await resolveRedisUrl({ env: {}, probeUrl, dataDir, onStarted }), url);
      assert.equal(lines.length, 1);
    }));

  it('does not hang on a probeUrl that accepts but never answers', () =>
    withTempDir(async (dataDir) => {
      // Holds connections open without a word, like a wedged service would.
      const held = new Set<Socket>();
      const silent: Server = createServer((socket) => held.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const address = silent.address();
        assert.ok(address && typeof address === 'object');
        const started = Date.now();
        const url = await resolveRedisUrl({
          env: {},
          probeUrl: `redis://127.0.0.1:${address.port}`,
          dataDir,
        });
        assert.equal(url, `unix://${join(dataDir, 'redis.sock')}`);
        assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
      } finally {
        for (const socket of held) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    }));
});

/** Polls `check` until it returns non-null (at most 5 s). */
async function waitFor<T>(check: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await check();
    if (value !== null) return value;
    if (Date.now() >= deadline) assert.fail('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
