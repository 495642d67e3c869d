/**
 * Redis keyspace notifications (https://redis.io/docs/latest/develop/use/keyspace-notifications/):
 * whether a server publishes them for sorted sets, and the channel that tells of writes to
 * one key. They are how a process hears of writes made by a program that publishes
 * nothing itself. Off by default: the operator turns them on with the
 * `notify-keyspace-events` setting. This module knows only Redis: keys are names.
 * @module
 */
import { ErrorReply } from 'redis';
import type { RedisClient } from './connect.js';

/** What the server said about `notify-keyspace-events`. */
export type KeyspaceEventsSetting =
  | { readable: true; flags: string; sortedSets: boolean }
  /** CONFIG GET was refused (ACL, a renamed command, a managed Redis): unknown. */
  | { readable: false; refusal: string };

/**
 * Whether the flags make Redis publish on `__keyspace@<db>__:<key>` for sorted-set
 * commands: `K` (keyspace channels) and `z` (sorted sets) or `A` (every class, `z` among them).
 */
export function notifiesSortedSets(flags: string): boolean {
  return flags.includes('K') && (flags.includes('z') || flags.includes('A'));
}

/**
 * Reads the setting. A refusal is an answer (unknown), not a failure; a connection that
 * fails still throws.
 */
export async function readKeyspaceEvents(client: RedisClient): Promise<KeyspaceEventsSetting> {
  try {
    const reply = await client.configGet('notify-keyspace-events');
    const flags = reply['notify-keyspace-events'];
    if (typeof flags !== 'string') return { readable: false, refusal: 'no such setting' };
    return { readable: true, flags, sortedSets: notifiesSortedSets(flags) };
  } catch (error) {
    if (error instanceof ErrorReply) return { readable: false, refusal: error.message };
    throw error;
  }
}

/** The database a redis:// URL selects (its path, `/3`); 0 for none and for unix sockets. */
export function databaseOf(url: string): number {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'unix:') return 0;
    const db = Number(parsed.pathname.slice(1) || '0');
    return Number.isInteger(db) && db >= 0 ? db : 0;
  } catch {
    return 0;
  }
}

/** The channel on which Redis tells of every write to `key` in database `db`. */
export function keyspaceChannel(db: number, key: string): string {
  return `__keyspace@${db}__:${key}`;
}

/**
 * The events (the channel's messages) after which a sorted set may hold a member it did
 * not hold before. Removals, expiry and the like are not among them: nothing to read.
 */
const ADDING_EVENTS = new Set([
  'zadd',
  'zincr',
  'zunionstore',
  'zinterstore',
  'zdiffstore',
  'zrangestore',
  'rename_to',
  'copy_to',
  'restore',
]);

/** Whether a keyspace event may have added members to the key. */
export function mayHaveAdded(event: string): boolean {
  return ADDING_EVENTS.has(event);
}
