/**
 * The one line that says what live delivery covers on this Redis, and so what the
 * original program's messages need (`RedisMessenger.liveCoverage`): for a server's log.
 * @module
 */
import { RedisMessenger } from '../index.js';
import type { Output } from './output.js';

/**
 * Prints the line on standard error; nothing on a cluster or under a namespace, where
 * the original program cannot write.
 */
export async function noticeLiveCoverage(messenger: RedisMessenger, output: Output): Promise<void> {
  const { keyspaceNotifications, summary } = await messenger.liveCoverage();
  if (keyspaceNotifications !== 'not-needed') output.notice(summary);
}

/**
 * The messenger when it is on Redis directly, else undefined: through a server a client
 * reads only its own user's data, and the server's operator is the one who runs `reindex`.
 */
export function onRedis(messenger: object): RedisMessenger | undefined {
  return messenger instanceof RedisMessenger ? messenger : undefined;
}
