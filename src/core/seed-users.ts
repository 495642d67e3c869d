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
import type { StepRunner } from './backend/writes.js';
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

/**
 * Indexes every name of `usernames` that has no folded name yet, a batch at a time. Each
 * batch (a scan page, its users' creation times, one script) runs through `step`, so that
 * reindex gives each its own deadline; a batch run twice adds nothing the first added.
 */
export async function indexSeedNames(
  client: RedisConnection,
  keys: Keys,
  step: StepRunner = (batch) => batch(),
): Promise<IndexNamesReport> {
  const report: IndexNamesReport = { added: 0, conflicts: [], userIds: new Set() };
  const seen = new Set<string>(); // HSCAN may return a name twice
  let cursor = '0';
  do {
    const from = cursor;
    const done = await step(async () => {
      const scan = await client.hScan(keys.usernames, from, { COUNT: BATCH });
      const batch = scan.entries.filter(({ field }) => !seen.has(field));
      if (batch.length === 0) return { next: scan.cursor, batch, added: 0, conflicts: [] };
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
      return { next: scan.cursor, batch, added, conflicts };
    });
    cursor = done.next;
    for (const { field, value } of done.batch) {
      seen.add(field);
      report.userIds.add(value);
    }
    report.added += done.added;
    report.conflicts.push(
      ...done.conflicts.map((position) => done.batch[position - 1]?.field ?? ''),
    );
  } while (cursor !== '0');
  // Only now: every name counted has been indexed. Never more than that, so a name the
  // original program adds meanwhile is indexed by the next run.
  await step(() => client.set(keys.usernamesIndexed, String(seen.size)));
  return report;
}

/** Whether the original program has added names since they were last indexed. */
export function namesBehind(names: number, indexed: string | null): boolean {
  return names !== Number(indexed ?? 0);
}
