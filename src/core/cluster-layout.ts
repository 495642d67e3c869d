/**
 * Which key layout a Redis Cluster holds (`Keys.clusterLayout`, in the directory's slot):
 * checked when a messenger connects, so that this version never reads, or writes beside,
 * keys in another layout. Layout 1 (a message and a conversation each in a slot of their
 * own) had no marker: a cluster that holds users and no marker holds it, and
 * `messenger migrate` (./migrate-cluster.ts) moves it to layout 2.
 * @module
 */
import { ClusterLayoutError } from '../errors.js';
import type { RedisCluster } from '../redis/connect.js';
import type { Keys } from './keys.js';

/** The layout this version reads and writes. */
export const CLUSTER_LAYOUT = '2';
/** The marker while `messenger migrate` runs: no messenger may use the cluster meanwhile. */
export const MIGRATING = 'migrating';

/**
 * Throws ClusterLayoutError unless the cluster holds layout 2; marks an empty cluster
 * (no users) as layout 2. One round trip, two the first time.
 */
export async function checkClusterLayout(
  client: RedisCluster,
  keys: Keys,
  target: string,
): Promise<void> {
  const [marker, users] = await Promise.all([
    client.get(keys.clusterLayout),
    client.exists(keys.usernames),
  ]);
  if (marker === CLUSTER_LAYOUT) return;
  if (marker !== null || users > 0) throw new ClusterLayoutError(target, marker);
  // Nothing stored yet: this version's. (NX: a migration that began meanwhile wins.)
  await client.set(keys.clusterLayout, CLUSTER_LAYOUT, { NX: true });
  const now = await client.get(keys.clusterLayout);
  if (now !== CLUSTER_LAYOUT) throw new ClusterLayoutError(target, now);
}
