/**
 * The one line that says what live delivery misses on this Redis: the original program's
 * messages, when Redis keyspace notifications are off (`RedisMessenger.liveCoverage`).
 * @module
 */
import type { RedisMessenger } from '../index.js';
import type { Output } from './output.js';

/**
 * Prints the line on standard error when the original program's messages are not surely
 * live; with `always` (a server's log) also when they are. Nothing on a cluster or under
 * a namespace, where the original program cannot write.
 */
export async function noticeLiveCoverage(
  messenger: RedisMessenger,
  output: Output,
  always = false,
): Promise<void> {
  const { keyspaceNotifications, summary } = await messenger.liveCoverage();
  if (keyspaceNotifications === 'not-needed') return;
  if (always || keyspaceNotifications !== 'on') output.notice(summary);
}
