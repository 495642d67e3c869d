/**
 * Throwaway redis-server processes for tests: each on a free port of 127.0.0.1 with its
 * own data folder, stopped (and its folder removed) by `stop()`, and killed when the
 * test process exits, however it exits. Tests never touch a Redis they did not start.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly process: ChildProcess;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
  /** Sends a signal (SIGKILL, SIGSTOP, SIGCONT, ...) to the server process. */
  signal(signal: NodeJS.Signals): void;
  /** Starts the server again on the same port and folder (after a kill). */
  restart(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A TCP port of 127.0.0.1 that was free a moment ago (nothing listens on it now). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(),
      );
    });
  });
}

/** Resolves once the server answers PING, or rejects if it exits first. */
async function waitUntilReady(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `redis-server exited (${child.exitCode ?? child.signalCode}) before it was ready`,
      );
    }
    const answered = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.setTimeout(500);
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
      socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        // A server with requirepass answers NOAUTH: it is up all the same.
        resolve(/^(\+PONG|-NOAUTH)/.test(data.toString()));
      });
    });
    if (answered) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`redis-server on port ${port} was not ready within 10 s`);
}

function launch(port: number, dir: string, args: string[]): ChildProcess {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      ...args,
    ],
    { stdio: 'ignore' },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

async function exited(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await done;
  clearTimeout(timer);
}

/** Starts a redis-server; `args` are extra command-line settings, e.g. ['--appendonly', 'yes']. */
export async function startRedisServer(args: string[] = []): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-messenger-test-'));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let child = launch(port, dir, args);
    try {
      await waitUntilReady(port, child);
    } catch (error) {
      await exited(child, 'SIGKILL');
      // Another process may have taken the port between our probe and the launch.
      if (attempt < 5) continue;
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    return {
      port,
      url: `redis://127.0.0.1:${port}`,
      dir,
      get process() {
        return child;
      },
      signal: (signal) => {
        child.kill(signal);
      },
      async restart() {
        await exited(child, 'SIGKILL');
        child = launch(port, dir, args);
        await waitUntilReady(port, child);
      },
      async stop() {
        child.kill('SIGCONT');
        await exited(child, 'SIGTERM');
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
