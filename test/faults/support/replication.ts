/**
 * Replication on a throwaway Redis Cluster, for the failover tests: waiting until every
 * replica has what its master wrote, so that what was written before survives a failover.
 */
import { createClient } from 'redis';
import type { RedisCluster } from '../../support/redis-cluster.js';
import { sleep } from './faults.js';

/**
 * Resolves once every replica has every write its master made so far (the replication
 * offsets are equal), so that what was written before it survives a failover.
 */
export async function replicasCaughtUp(cluster: RedisCluster, timeoutMs: number): Promise<void> {
  const masters = cluster.nodes.filter((node) => node.alive && node.role === 'master');
  const clients = await Promise.all(
    masters.map(async (node) => {
      const client = createClient({ url: node.url });
      client.on('error', () => {});
      await client.connect();
      return client;
    }),
  );
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const infos = await Promise.all(clients.map((client) => client.info('replication')));
      const behind = infos.filter((info) => {
        const offset = /master_repl_offset:(\d+)/.exec(info)?.[1];
        const replicas = [...info.matchAll(/^slave\d+:.*offset=(\d+)/gm)].map((m) => m[1]);
        return replicas.length === 0 || replicas.some((replica) => replica !== offset);
      });
      if (behind.length === 0) return;
      if (Date.now() > deadline) throw new Error('replicas did not catch up with their masters');
      await sleep(20);
    }
  } finally {
    for (const client of clients) client.destroy();
  }
}
