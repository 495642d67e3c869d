/**
 * Keeps the new user indexes complete when the original program shares the Redis: it
 * writes users only to `usernames` and user:<id>, so their folded names and their place
 * in the user index and the name index are added here. A counter (`usernames_indexed`)
 * says how many names are indexed; every create, lookup and listing compares it with the
 * size of `usernames` (O(1)), and only when the original program has added names does
 * this run. A search compares the name index's size with that of `usernames` instead,
 * which also catches up the users stored before the name index existed.
 * @module
 */
import type { RedisConnection } from '../redis/connect.js';
import { type Keys, nameIndexMember } from './keys.js';
import { scripts } from './scripts.js';
import { foldUsername } from './validate.js';

export interface IndexNamesReport {
  /** Folded names added. */
  added: number;
  /** Names whose folded form another user already holds (both users are kept). */
  conflicts: string[];
  /** The ids of every user the `usernames` hash names, as read. */
  userIds: Set<string>;
}

/** Names per script call: small enough that no call blocks Redis for long. */
const BATCH = 500;

export async function indexSeedNames(
  client: RedisConnection,
  keys: Keys,
): Promise<IndexNamesReport> {
  const report: IndexNamesReport = { added: 0, conflicts: [], userIds: new Set() };
  const seen = new Set<string>(); // HSCAN may return a name twice
  let cursor = '0';
  do {
    const scan = await client.hScan(keys.usernames, cursor, { COUNT: BATCH });
    cursor = scan.cursor;
    const batch = scan.entries.filter(({ field }) => !seen.has(field));
    for (const { field, value } of batch) {
      seen.add(field);
      report.userIds.add(value);
    }
    if (batch.length === 0) continue;
    const createdAt = await Promise.all(
      batch.map(({ value }) => client.hGet(keys.user(value), 'created_at')),
    );
    const quadruples = batch.flatMap(({ field, value }, i) => {
      const folded = foldUsername(field);
      return [folded, value, createdAt[i] ?? '', nameIndexMember(folded, field, value)];
    });
    const [added, ...conflicts] = (await scripts.indexNames.run(
      client,
      [keys.foldedUsernames, keys.userIndex, keys.nameIndex],
      quadruples,
    )) as [number, ...number[]];
    report.added += added;
    report.conflicts.push(...conflicts.map((position) => batch[position - 1]?.field ?? ''));
  } while (cursor !== '0');
  // Only now: every name counted has been indexed. Never more than that, so a name the
  // original program adds meanwhile is indexed by the next run.
  await client.set(keys.usernamesIndexed, String(seen.size));
  return report;
}

/** Whether the original program has added names since they were last indexed. */
export function namesBehind(names: number, indexed: string | null): boolean {
  return names !== Number(indexed ?? 0);
}
