/**
 * Reading a message or user hash on a Redis Cluster, where another program may have left
 * a key of another type (bad data): shared by the backend's reads and reindex's recount.
 * @module
 */
import { ErrorReply } from 'redis';
import type { RedisCluster } from '../../redis/connect.js';
import type { RoutedCommands } from '../../redis/routed-commands.js';

/** A hash's fields on a cluster; all null when it is missing or not a hash (bad data). */
export async function readHash(
  client: Pick<RoutedCommands | RedisCluster, 'hmGet'>,
  key: string,
  fields: readonly string[],
): Promise<(string | null)[]> {
  try {
    return await client.hmGet(key, [...fields]);
  } catch (error) {
    if (error instanceof ErrorReply && error.message.startsWith('WRONGTYPE'))
      return fields.map(() => null);
    throw error;
  }
}
