/**
 * The Redis deployments the bench runs on, each started for the run and stopped after:
 * one redis-server, or a local Redis Cluster of some shards (no replicas). Each comes with
 * the three ways the bench measures (ours, naive, ceiling) already connected to it, and
 * with a plain client to every master, for FLUSHALL and for INFO (Redis's CPU time).
 */
import { createClient, createCluster, type RedisClientType } from 'redis';
import { Keys } from '../src/core/keys.js';
import { RedisMessenger } from '../src/index.js';
import type { RedisConnection } from '../src/redis/connect.js';
import { keySlot } from '../src/redis/key-slot.js';
import { startRedisCluster } from '../test/support/redis-cluster.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { SeedProgram } from '../test/support/seed-program.js';
import { Ceiling } from './ceiling.js';

export interface BenchBackend {
  /** How the tables name it: 'one Redis', 'cluster, 3 shards'. */
  readonly label: string;
  /** How many masters serve the keys (1 for one Redis). */
  readonly shards: number;
  readonly messenger: RedisMessenger;
  /** The messenger's key names on this deployment (no namespace: the bench has it to itself). */
  readonly keys: Keys;
  /** The bare client the naive and ceiling ways use: a cluster client on a cluster. */
  readonly connection: RedisConnection;
  readonly seed: SeedProgram;
  readonly ceiling: Ceiling;
  /** The URLs of its nodes (one for one Redis). */
  readonly urls: readonly string[];
  /** A plain client to each master (on one Redis, the same client as `connection`). */
  readonly masters: readonly RedisClientType[];
  /** Which of `masters` serves `key`, as the cluster client knows it. */
  masterOf(key: string): number;
  /** Empties every master. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The same client settings as the messenger's (no per-command timer), so that the naive
 * and ceiling figures are not slowed by the client rather than by their algorithm.
 */
const commandOptions = { timeout: 0 };

async function plainClient(url: string): Promise<RedisClientType> {
  const client: RedisClientType = createClient({ url, commandOptions });
  await client.connect();
  return client;
}

/** One redis-server; `client` is its plain client (also `connection` and `masters[0]`). */
export async function startStandalone(): Promise<BenchBackend & { client: RedisClientType }> {
  const server = await startRedisServer();
  const raw = await plainClient(server.url);
  const messenger = await RedisMessenger.connect({ url: server.url, commandTimeoutMs: 60_000 });
  return {
    label: 'one Redis',
    shards: 1,
    client: raw,
    messenger,
    keys: new Keys(),
    connection: raw,
    seed: new SeedProgram(raw),
    ceiling: new Ceiling(raw),
    urls: [server.url],
    masters: [raw],
    masterOf: () => 0,
    flush: async () => {
      await raw.flushAll();
    },
    async stop() {
      await messenger.close();
      await raw.close();
      await server.stop();
    },
  };
}

export async function startCluster(shards: number): Promise<BenchBackend> {
  const cluster = await startRedisCluster({ masters: shards });
  const urls = [...cluster.urls];
  const raw = createCluster({ rootNodes: urls.map((url) => ({ url })), commandOptions });
  await raw.connect();
  const masters = await Promise.all(urls.map(plainClient));
  const messenger = await RedisMessenger.connect({ cluster: urls, commandTimeoutMs: 60_000 });
  // The original program's algorithm runs on a cluster unchanged as far as its commands
  // each name one key (writing and reading messages); only its SCAN of users does not.
  const seed = new SeedProgram(raw as unknown as RedisClientType);
  return {
    label: `cluster, ${shards} shard${shards === 1 ? '' : 's'}`,
    shards,
    messenger,
    keys: new Keys(undefined, 'cluster'),
    connection: raw as unknown as RedisConnection,
    seed,
    ceiling: new Ceiling(raw as unknown as RedisConnection),
    urls,
    masters,
    masterOf: (key) => {
      const { port } = raw.getSlotMaster(keySlot(key));
      return cluster.nodes.findIndex((node) => node.port === port);
    },
    flush: async () => {
      await Promise.all(masters.map((master) => master.flushAll()));
    },
    async stop() {
      await messenger.close();
      await raw.close();
      await Promise.all(masters.map((master) => master.close()));
      await cluster.stop();
    },
  };
}
