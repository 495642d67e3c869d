/**
 * What live delivery covers on this Redis. Messages this library sends ring the
 * receiver's doorbell; the original program publishes nothing, so its messages are heard
 * live only through Redis keyspace notifications on the inbox (`notify-keyspace-events`
 * with `K` and `z`), which the operator turns on. This decides, once per messenger,
 * whether subscriptions listen to them, and says in one line what is live and what needs
 * `reindex`.
 * @module
 */
import type { RedisClient } from '../redis/connect.js';
import { readKeyspaceEvents } from '../redis/keyspace-events.js';

/**
 * - `on`: the Redis notifies sorted-set writes: the original program's messages are live.
 * - `off`: it does not: they arrive with the next message this library sends to that user.
 * - `unknown`: it refused `CONFIG GET`; subscriptions listen for notifications anyway.
 * - `not-needed`: a Redis Cluster or a namespace, whose keys the original program never
 *   writes (its names are the seed's, without hash tags or a prefix).
 */
export type KeyspaceNotifications = 'on' | 'off' | 'unknown' | 'not-needed';

/** What live delivery covers (`RedisMessenger.liveCoverage`). */
export interface LiveCoverage {
  keyspaceNotifications: KeyspaceNotifications;
  /** Whether subscriptions listen to the inbox's keyspace channel. */
  listening: boolean;
  /** One line for a person or a log: what is live, and what needs `reindex`. */
  summary: string;
}

const REINDEX = 'reindex (messenger reindex)';

/** The flags to set for sorted-set notifications, keeping those already set. */
function flagsWith(flags: string): string {
  const missing = ['K', ...(flags.includes('A') ? [] : ['z'])].filter((f) => !flags.includes(f));
  return `${flags}${missing.join('')}`;
}

/**
 * Reads the Redis's setting (one round trip). `client` is the connection, when its keys
 * are the original program's (one Redis, no namespace), else undefined; `run` gives the
 * call the messenger's deadline.
 */
export async function detectLiveCoverage(
  client: RedisClient | undefined,
  run: <T>(operation: () => Promise<T>) => Promise<T>,
): Promise<LiveCoverage> {
  if (!client) {
    return {
      keyspaceNotifications: 'not-needed',
      listening: false,
      summary:
        'Live: every message (on a Redis Cluster or under a namespace only this library writes the keys it reads).',
    };
  }
  const setting = await run(() => readKeyspaceEvents(client));
  if (!setting.readable) {
    return {
      keyspaceNotifications: 'unknown',
      listening: true,
      summary: `Live: messages this library sends; the original program's too if Redis keyspace notifications are on (notify-keyspace-events with K and z: this Redis refused CONFIG GET, so subscriptions listen for them anyway). Without them its messages are found only when a subscriber next reads its inbox, and join conversations then or after ${REINDEX}.`,
    };
  }
  if (setting.sortedSets) {
    return {
      keyspaceNotifications: 'on',
      listening: true,
      summary: `Live: every message, the original program's too (Redis keyspace notifications are on); they join conversations as a subscriber delivers them, and those nobody was subscribed for after ${REINDEX}.`,
    };
  }
  return {
    keyspaceNotifications: 'off',
    listening: false,
    summary: `Live: messages this library sends. The original program's are not live: a subscriber finds them only when it next reads its inbox (at a later message from this library, or a reconnect), and they join conversations then or after ${REINDEX}. To have them live: CONFIG SET notify-keyspace-events ${flagsWith(setting.flags)} (now "${setting.flags}").`,
  };
}
