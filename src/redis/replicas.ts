/**
 * Waiting for replicas (Redis WAIT): Redis replicates asynchronously, so a write a master
 * acknowledged can be lost if the master dies before a replica has it. WAIT blocks the
 * connection it is sent on until that many replicas have every write sent on it before.
 * @module
 */
import { isCluster, type RedisConnection } from './connect.js';
import { keySlot } from './key-slot.js';

/** How long a mark (below) stays: long enough for any WAIT, short enough to leave nothing. */
const MARK_TTL_MS = 60_000;

export interface WaitOptions {
  /**
   * For writes that wrote nothing (a retry of a write stored earlier, perhaps by another
   * connection or process): the key of a mark to write first, in the slot of the given
   * key. WAIT counts only the writes of its own connection, and a connection that wrote
   * nothing has none to wait for: its WAIT would count every replica merely online, even
   * one that lacks the earlier write. A mark written now comes after that write in the
   * replication stream, so waiting for the mark waits for the write too.
   */
  markFor?: (key: string) => string;
}

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
  options: WaitOptions = {},
): Promise<number> {
  const command = ['WAIT', String(replicas), String(timeoutMs)];
  const mark = (key: string) =>
    options.markFor ? ['SET', options.markFor(key), '1', 'PX', String(MARK_TTL_MS)] : undefined;
  if (!isCluster(client)) {
    const markCommand = keys[0] === undefined ? undefined : mark(keys[0]);
    // Sent together, in order, on the one connection that WAIT then waits for.
    const [, reached] = await Promise.all([
      markCommand && client.sendCommand(markCommand),
      client.sendCommand(command),
    ]);
    return Number(reached);
  }
  // One WAIT per node written to, on the connection the writes went through (the cluster
  // client keeps one per node). Not through the cluster client itself: it sends WAIT to
  // every master, so one shard without a replica would refuse every send.
  // Per master, the first of the keys it serves (for its mark).
  const masters = new Map<
    string,
    { master: ReturnType<typeof client.getSlotMaster>; key: string }
  >();
  for (const key of keys) {
    const master = client.getSlotMaster(keySlot(key));
    if (!masters.has(master.address)) masters.set(master.address, { master, key });
  }
  const reached = await Promise.all(
    [...masters.values()].map(async ({ master, key }) => {
      const node = await client.nodeClient(master);
      const markCommand = mark(key);
      const [, count] = await Promise.all([
        markCommand && node.sendCommand(markCommand),
        node.sendCommand(command),
      ]);
      return Number(count);
    }),
  );
  return Math.min(...reached);
}
