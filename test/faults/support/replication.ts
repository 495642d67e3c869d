/**
 * Replication on a throwaway Redis Cluster, for the failover tests: waiting until every
 * replica has what its master wrote, so that what was written before survives a failover.
 */
import { createClient } from 'redis';
import type { ClusterNode, RedisCluster } from '../../support/redis-cluster.js';
import { eventually } from '../../support/wait.js';
import { sleep } from './faults.js';

/** When a killed master's replica took over, and (if restarted) when it was back. */
export interface Failover {
  killedAt: number;
  promotedAfter: number;
  rejoinedAfter?: number;
}

/**
 * Kills `victim` (kill -9), tells `killed` the moment, and waits until the cluster is
 * stable again (its replica promoted). With `restartAfterMs`, then restarts it that much
 * later (not at once: long enough for clients to write to the promoted replica, which has
 * no replica of its own yet) and waits until it has rejoined, as a replica.
 */
export async function killMaster(
  cluster: RedisCluster,
  victim: ClusterNode,
  options: { boundMs: number; restartAfterMs?: number; killed?: (at: number) => void },
): Promise<Failover> {
  const killedAt = Date.now();
  options.killed?.(killedAt);
  victim.signal('SIGKILL');
  // Until the process has exited, the cluster helper would count the node as alive.
  await eventually(() => !victim.alive, 2000, 'the killed master to exit');
  await cluster.waitForStable(options.boundMs);
  const failover: Failover = { killedAt, promotedAfter: Date.now() - killedAt };
  if (options.restartAfterMs !== undefined) {
    await sleep(options.restartAfterMs);
    await victim.restart();
    await cluster.waitForStable(options.boundMs);
    failover.rejoinedAfter = Date.now() - killedAt;
  }
  return failover;
}

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
