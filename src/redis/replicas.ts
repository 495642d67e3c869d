/**
 * Waiting for replicas (Redis WAIT): Redis replicates asynchronously, so a write a master
 * acknowledged can be lost if the master dies before a replica has it. WAIT blocks the
 * connection it is sent on until that many replicas have every write sent on it before.
 * @module
 */
import type { RedisClient } from './connect.js';

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
 * On one Redis: waits until `replicas` replicas have the writes made so far on
 * `connection` (and `markKey`'s mark, written first, when given), or `timeoutMs` passes.
 * Returns how many replicas have them.
 */
export async function waitOnServer(
  connection: RedisClient,
  replicas: number,
  timeoutMs: number,
  markKey?: string,
): Promise<number> {
  // Sent together, in order, on the one connection that WAIT then waits for.
  const [, reached] = await Promise.all([
    markKey && connection.sendCommand(markCommand(markKey)),
    connection.sendCommand(['WAIT', String(replicas), String(timeoutMs)]),
  ]);
  return Number(reached);
}

/**
 * On a Redis Cluster: waits until `replicas` replicas have the writes made so far to the
 * masters serving `keys`, or `timeoutMs` passes. `connectionFor` gives the connection to
 * a key's master that the writes went through. Returns the fewest replicas any of those
 * masters reached.
 */
export async function waitOnCluster(
  connectionFor: (key: string) => Promise<RedisClient>,
  keys: string[],
  replicas: number,
  timeoutMs: number,
  options: WaitOptions = {},
): Promise<number> {
  // One WAIT per node written to, on the connection the writes went through. Not through
  // the cluster client itself: it sends WAIT to every master, so one shard without a
  // replica would refuse every send. Per connection, the first of the keys (for its mark).
  const connections = new Map<RedisClient, string>();
  for (const key of keys) {
    const connection = await connectionFor(key);
    if (!connections.has(connection)) connections.set(connection, key);
  }
  const reached = await Promise.all(
    [...connections].map(([connection, key]) =>
      waitOnServer(connection, replicas, timeoutMs, options.markFor?.(key)),
    ),
  );
  return Math.min(...reached);
}

function markCommand(key: string): string[] {
  return ['SET', key, '1', 'PX', String(MARK_TTL_MS)];
}
