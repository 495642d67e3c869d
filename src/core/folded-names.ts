/**
 * Keeps `usernames_folded` complete when the original program shares the Redis: it
 * writes names only to `usernames`, so its names get their folded form here, before
 * the next `createUser` may claim a case variant of one. The check is O(1) (the create
 * script compares a counter with the size of `usernames`); the folding runs only when
 * the original program has added names since the last time.
 * @module
 */
import type { RedisClient } from '../redis/connect.js';
import type { Keys } from './keys.js';
import { scripts } from './scripts.js';
import { foldUsername } from './validate.js';

export interface FoldReport {
  /** Folded names added. */
  added: number;
  /** Names whose folded form another user already holds (both users are kept). */
  conflicts: string[];
}

const CHUNK = 1000;

export async function foldSeedNames(client: RedisClient, keys: Keys): Promise<FoldReport> {
  const names = new Map<string, string>(); // HSCAN may return a name twice
  let cursor = '0';
  do {
    const scan = await client.hScan(keys.usernames, cursor, { COUNT: CHUNK });
    cursor = scan.cursor;
    for (const { field, value } of scan.entries) names.set(field, value);
  } while (cursor !== '0');
  const pairs = [...names].map(([name, id]) => [name, foldUsername(name), id] as const);
  const reply = (await scripts.foldNames.run(
    client,
    [keys.foldedUsernames, keys.foldedUsernamesSynced],
    [String(names.size), ...pairs.flatMap(([, folded, id]) => [folded, id])],
  )) as [number, ...number[]];
  const [added, ...conflicting] = reply;
  return { added, conflicts: conflicting.map((i) => pairs[i - 1]?.[0] ?? '') };
}
