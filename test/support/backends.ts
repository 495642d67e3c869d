/**
 * The library's tests run each test body twice: against one Redis and against a Redis
 * Cluster (3 masters), both started for the test file and stopped after it.
 *
 *     onEachBackend((backend) => {
 *       it('does something', async () => { const m = await backend().messenger(); ... });
 *     });
 *
 * TEST_BACKENDS=standalone (or =cluster) runs only one of them, for a quick local run.
 * `{ clusterOfOneShard: true }` adds a third run on a cluster of one master, where the
 * cluster backend takes its one-script paths (a whole send in one script).
 */
import { randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { createClient, createCluster, type RedisClientType } from 'redis';
import { type MessengerOptions, RedisMessenger } from '../../src/index.js';
import type { RedisConnection } from '../../src/redis/connect.js';
import { type RedisCluster, startRedisCluster } from './redis-cluster.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

export type BackendKind = 'standalone' | 'cluster';

export interface Backend {
  readonly kind: BackendKind;
  /** What to pass to RedisMessenger.connect to reach this backend. */
  readonly target: { url: string } | { cluster: string[] };
  /**
   * A node-redis client for looking at keys directly (a cluster client on a cluster,
   * routing each command by its key). Closed by the harness.
   */
  readonly raw: RedisConnection;
  /** A messenger under a fresh namespace of its own; close it in the test. */
  messenger(options?: MessengerOptions): Promise<RedisMessenger>;
  /** Every key matching `pattern`, from every master. */
  keys(pattern: string): Promise<string[]>;
  /** How many keys all the masters hold together. */
  dbSize(): Promise<number>;
  /** Runs `ask` on a plain client of every master (the one server, on one Redis). */
  eachMaster<T>(ask: (node: RedisClientType) => Promise<T>): Promise<T[]>;
}

/** How many connections listen to `channel` now, summed over masters (sharded on a cluster). */
export async function listenersOf(backend: Backend, channel: string): Promise<number> {
  const command = backend.kind === 'cluster' ? 'SHARDNUMSUB' : 'NUMSUB';
  const replies = await backend.eachMaster(
    (node) => node.sendCommand(['PUBSUB', command, channel]) as Promise<unknown[]>,
  );
  return replies.reduce<number>((sum, reply) => sum + Number(reply[1] ?? 0), 0);
}

/**
 * Redis commands of each kind that every master answered while `work` ran, summed (INFO
 * commandstats; a script's own calls count too; `info` itself is left out).
 */
export async function commandsDuring(
  backend: Pick<Backend, 'eachMaster'>,
  work: () => Promise<unknown>,
): Promise<Record<string, number>> {
  const calls = async () => {
    const sum: Record<string, number> = {};
    for (const info of await backend.eachMaster((node) => node.info('commandstats')))
      for (const [, name, n] of info.matchAll(/cmdstat_(\S+?):calls=(\d+)/g))
        sum[name as string] = (sum[name as string] ?? 0) + Number(n);
    return sum;
  };
  const before = await calls();
  await work();
  const used: Record<string, number> = {};
  for (const [name, count] of Object.entries(await calls())) {
    const more = count - (before[name] ?? 0);
    if (more > 0 && name !== 'info') used[name] = more;
  }
  return used;
}

const KINDS: BackendKind[] = ['standalone', 'cluster'];

function wanted(): BackendKind[] {
  const only = process.env.TEST_BACKENDS;
  return only ? KINDS.filter((kind) => only.split(',').includes(kind)) : KINDS;
}

/**
 * Defines the tests of `define` once per backend, each group with its backend running.
 * `kind` is known while tests are defined (for a `skip` that names why).
 */
export function onEachBackend(
  define: (backend: () => Backend, kind: BackendKind) => void,
  { clusterOfOneShard = false } = {},
): void {
  const runs = wanted().map((kind) => ({ kind, masters: 3 }));
  if (clusterOfOneShard && wanted().includes('cluster')) runs.push({ kind: 'cluster', masters: 1 });
  for (const { kind, masters } of runs) {
    const name =
      kind === 'standalone'
        ? 'on one Redis'
        : masters === 1
          ? 'on a Redis Cluster of one shard'
          : 'on a Redis Cluster';
    describe(name, () => {
      let running: RunningBackend | undefined;
      before(async () => {
        running = await startBackend(kind, masters);
      });
      after(async () => {
        await running?.stop();
      });
      define(() => {
        if (!running) throw new Error(`the ${kind} backend did not start`);
        return running;
      }, kind);
    });
  }
}

interface RunningBackend extends Backend {
  stop(): Promise<void>;
}

/** `masters`: of a cluster. @defaultValue 3 */
export async function startBackend(kind: BackendKind, masters = 3): Promise<RunningBackend> {
  if (kind === 'standalone') {
    const server: RedisServer = await startRedisServer();
    const raw = createClient({ url: server.url });
    await raw.connect();
    return {
      kind,
      target: { url: server.url },
      raw: raw as RedisConnection,
      messenger: (options = {}) =>
        RedisMessenger.connect({ url: server.url, namespace: `test-${randomUUID()}`, ...options }),
      keys: (pattern) => raw.keys(pattern),
      dbSize: () => raw.dbSize(),
      eachMaster: async (ask) => [await ask(raw as RedisClientType)],
      async stop() {
        raw.destroy();
        await server.stop();
      },
    };
  }
  const cluster: RedisCluster = await startRedisCluster({ masters });
  const raw = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })) });
  await raw.connect();
  const eachMaster = async <T>(ask: (node: RedisClientType) => Promise<T>) =>
    Promise.all(
      raw.masters.map(async (master) => ask((await raw.nodeClient(master)) as RedisClientType)),
    );
  return {
    kind,
    target: { cluster: [...cluster.urls] },
    raw: raw as unknown as RedisConnection,
    messenger: (options = {}) =>
      RedisMessenger.connect({
        cluster: [...cluster.urls],
        namespace: `test-${randomUUID()}`,
        ...options,
      }),
    keys: async (pattern) => (await eachMaster((node) => node.keys(pattern))).flat(),
    dbSize: async () => (await eachMaster((node) => node.dbSize())).reduce((a, b) => a + b, 0),
    eachMaster,
    async stop() {
      raw.destroy();
      await cluster.stop();
    },
  };
}
