/**
 * Moves a slot of a test cluster, with its keys, to another master, as resharding does
 * (CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE, then SETSLOT NODE everywhere, the old
 * owner last: that is when it ends the subscriptions of the slot's sharded channels).
 */
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import type { ClusterNode, RedisCluster } from './redis-cluster.js';

export interface MoveOptions {
  /** Runs while the old owner hands the slot over (e.g. to pause the new owner). */
  meanwhile?: (to: ClusterNode) => Promise<void>;
  /** Waits this long after the slot starts migrating, and again once its keys moved: wider windows for what runs meanwhile. @defaultValue 0 */
  pauseMs?: number;
}

/** Sends one command to one node, on a connection of its own. */
export async function askNode(node: ClusterNode, ...command: string[]): Promise<unknown> {
  const client = createClient({ url: node.url });
  await client.connect();
  try {
    return await client.sendCommand(command);
  } finally {
    client.destroy();
  }
}

/** A count from a node's INFO `section`: the first group of `pattern`, 0 when absent. */
export async function infoCount(
  node: ClusterNode,
  section: string,
  pattern: RegExp,
): Promise<number> {
  const info = (await askNode(node, 'INFO', section)) as unknown as string;
  return Number(pattern.exec(info)?.[1] ?? 0);
}

export async function moveSlot(
  cluster: RedisCluster,
  slot: number,
  { meanwhile, pauseMs = 0 }: MoveOptions = {},
): Promise<ClusterNode> {
  const pause = () => new Promise((resolve) => setTimeout(resolve, pauseMs));
  const from = await cluster.masterOf(slot);
  const to = cluster.nodes.find((node) => node.role === 'master' && node !== from && node.alive);
  assert.ok(to, 'another master to move the slot to');
  const ask = askNode;
  await ask(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id);
  await ask(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id);
  await pause();
  for (;;) {
    const keys = (await ask(
      from,
      'CLUSTER',
      'GETKEYSINSLOT',
      String(slot),
      '1000',
    )) as unknown as string[];
    if (keys.length === 0) break;
    await ask(from, 'MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', ...keys);
  }
  await pause();
  // Masters only: replicas learn the new owner from their masters.
  for (const node of cluster.nodes.filter((n) => n !== from && n.alive && n.role === 'master'))
    await ask(node, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
  const moved = ask(from, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
  await meanwhile?.(to);
  await moved;
  await cluster.waitForStable();
  return to;
}
