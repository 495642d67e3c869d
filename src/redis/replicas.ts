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
  // One WAIT per node, sent on the connection the writes went through: the client keeps
  // one connection per node, and routes by key.
  const byNode = new Map<string, string>();
  for (const key of keys) byNode.set(client.getSlotMaster(keySlot(key)).address, key);
  const reached = await Promise.all(
    [...byNode.values()].map((key) => client.sendCommand(key, false, command) as Promise<number>),
  );
  return Math.min(...reached);
}
