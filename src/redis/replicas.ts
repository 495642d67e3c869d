/**
 * Waiting for replicas (Redis WAIT): Redis replicates asynchronously, so a write a master
 * acknowledged can be lost if the master dies before a replica has it. WAIT blocks the
 * connection it is sent on until that many replicas have every write sent on it before.
 * @module
 */
import { isCluster, type RedisConnection } from './connect.js';
import { keySlot } from './key-slot.js';

/**
 * Waits until `replicas` replicas have the writes made so far to the nodes serving
 * `keys` (on one Redis, its only node), or `timeoutMs` passes. Returns the fewest
 * replicas any of those nodes reached.
 */
export async function waitForReplicas(
  client: RedisConnection,
  keys: string[],
  replicas: number,
  timeoutMs: number,
): Promise<number> {
  const command = ['WAIT', String(replicas), String(timeoutMs)];
  if (!isCluster(client)) return (await client.sendCommand(command)) as number;
  // One WAIT per node written to, on the connection the writes went through (the cluster
  // client keeps one per node). Not through the cluster client itself: it sends WAIT to
  // every master, so one shard without a replica would refuse every send.
  const masters = new Map(
    keys.map((key) => {
      const master = client.getSlotMaster(keySlot(key));
      return [master.address, master] as const;
    }),
  );
  const reached = await Promise.all(
    [...masters.values()].map(
      async (master) => (await (await client.nodeClient(master)).sendCommand(command)) as number,
    ),
  );
  return Math.min(...reached);
}
