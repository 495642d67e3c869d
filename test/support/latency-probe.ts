/**
 * A latency probe for "no single Redis call holds Redis up": PING after PING on a
 * connection of its own to each given Redis, in a worker thread, so that neither the
 * caller's commands nor its event loop delay the probe's round trips. Its slowest round
 * trip is what any other user of that Redis waited while the measured call ran. Beside it,
 * Redis's own SLOWLOG says how long the slowest single command (a script is one) ran on
 * the server, free of any client-side noise.
 */
import { Worker } from 'node:worker_threads';
import type { RedisClientType } from 'redis';

export interface ProbeReport {
  /** PINGs answered while the probe ran, over all the Redis servers. */
  pings: number;
  p50Ms: number;
  p99Ms: number;
  slowestMs: number;
}

export interface LatencyProbe {
  stop(): Promise<ProbeReport>;
}

/** Plain JavaScript, run with `eval`: raw RESP over node:net, nothing to load. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createConnection } = require('node:net');
const latencies = [];
let running = true;
function probe({ host, port }) {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    let sent = 0;
    let buffered = '';
    const ping = () => {
      if (!running) { socket.end(); resolve(); return; }
      sent = performance.now();
      socket.write('PING\\r\\n');
    };
    socket.setNoDelay(true);
    socket.on('connect', ping);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      while (buffered.includes('\\r\\n')) {
        buffered = buffered.slice(buffered.indexOf('\\r\\n') + 2);
        latencies.push(performance.now() - sent);
        ping();
      }
    });
  });
}
const done = Promise.all(workerData.targets.map(probe));
parentPort.once('message', async () => {
  running = false;
  await done;
  parentPort.postMessage(latencies);
});
parentPort.postMessage('ready');
`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** Starts PINGing the server of every client (on connections of its own); resolves once it runs. */
export async function startLatencyProbe(
  servers: readonly RedisClientType[],
): Promise<LatencyProbe> {
  const targets = servers.map(({ options }) => {
    if (options?.url) {
      const { hostname, port } = new URL(options.url);
      return { host: hostname, port: Number(port) };
    }
    const socket = options?.socket as { host?: string; port?: number } | undefined;
    return { host: socket?.host ?? '127.0.0.1', port: socket?.port ?? 6379 };
  });
  const worker = new Worker(WORKER, { eval: true, workerData: { targets } });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  return {
    async stop() {
      const latencies = await new Promise<number[]>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage('stop');
      });
      await worker.terminate();
      const sorted = latencies.sort((a, b) => a - b);
      return {
        pings: sorted.length,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        slowestMs: sorted.at(-1) ?? 0,
      };
    },
  };
}

/** Makes each server log every command over `overMs` in its SLOWLOG, emptied now. */
export async function resetSlowlog(servers: readonly RedisClientType[], overMs = 1): Promise<void> {
  await Promise.all(
    servers.map(async (server) => {
      await server.configSet({
        'slowlog-log-slower-than': String(Math.round(overMs * 1000)),
        'slowlog-max-len': '10000',
      });
      await server.sendCommand(['SLOWLOG', 'RESET']);
    }),
  );
}

/** The slowest command the servers logged since resetSlowlog: its time and its name. */
export async function slowestLogged(
  servers: readonly RedisClientType[],
): Promise<{ ms: number; command: string }> {
  let slowest = { ms: 0, command: '' };
  for (const server of servers) {
    const entries = (await server.sendCommand(['SLOWLOG', 'GET', '10000'])) as [
      number,
      number,
      number,
      string[],
    ][];
    for (const [, , micros, args] of entries) {
      if (micros / 1000 > slowest.ms) {
        // With EVALSHA, the SHA too: the caller can name the script.
        slowest = { ms: micros / 1000, command: args.slice(0, 2).join(' ') };
      }
    }
  }
  return slowest;
}
