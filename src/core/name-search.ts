/**
 * Finding users by the start of their name, from the name index (docs/schema.md): one
 * short script, whatever the directory's size. The index holds one member per name of
 * `usernames`; when it holds fewer, names stored before it existed or by the original
 * program are missing, and the caller indexes them (./seed-users.ts) and searches again.
 * @module
 */
import type { RedisConnection } from '../redis/connect.js';
import { type Keys, userIdOfNameMember } from './keys.js';
import { scripts } from './scripts.js';
import { isId } from './validate.js';

export interface NameMatches {
  /** The ids of the names found, in folded-name order (ids another program wrote badly left out). */
  userIds: string[];
  /** How many members the index gave (the ids above and any left out). */
  found: number;
  /** The index holds fewer members than `usernames` has names: it needs catching up. */
  behind: boolean;
}

/** At most `limit` names whose folded form starts with `foldedPrefix`. */
export async function matchNames(
  client: RedisConnection,
  keys: Keys,
  foldedPrefix: string,
  limit: number,
): Promise<NameMatches> {
  const [behind, ...members] = (await scripts.searchNames.run(
    client,
    [keys.nameIndex, keys.usernames],
    [foldedPrefix, String(limit)],
  )) as [number, ...string[]];
  const userIds = members.map(userIdOfNameMember).filter((id) => isId(id));
  return { userIds, found: members.length, behind: behind === 1 };
}
