/**
 * Finding a user's newest unseen messages (for listUnreadMessages) without reading their
 * whole inbox, in steps that each hold Redis for a bounded time. On one Redis a step walks
 * down the inbox reading the `seen` flags in a script (find-unseen-1), at most
 * UNSEEN_STEP entries; on a cluster the sets of unseen messages per sender
 * (`user_unseen:{<user>}:<sender>`) already hold the answer, newest last.
 * @module
 */
import type { RedisClient, RedisCluster } from '../redis/connect.js';
import type { Keys } from './keys.js';
import { scripts } from './scripts.js';

/** Inbox entries one step reads on one Redis: under a millisecond of Redis's time on a quiet machine. */
export const UNSEEN_STEP = 250;

/** One step: unseen members of the inbox, newest first, and where to go on (none: done). */
export interface UnseenStep {
  members: string[];
  next?: string;
}

/** One Redis: walks the inbox down from `from` (a rank; none: the newest entry). */
export async function walkInboxForUnseen(
  client: RedisClient,
  keys: Keys,
  userId: string,
  wanted: number,
  from?: string,
): Promise<UnseenStep> {
  const [next, ...members] = (await scripts.findUnseen.run(
    client,
    [keys.inbox(userId)],
    [keys.prefix, from ?? '', String(wanted), String(UNSEEN_STEP)],
  )) as [number, ...string[]];
  return next === -1 ? { members } : { members, next: String(next) };
}

/**
 * A cluster: the newest `wanted` of each sender's set scored below `from` (none: all),
 * merged by score, in one round trip of one bounded read per sender. Each set holds what
 * its counter counts, so the first step usually finishes. (A member whose hash is gone,
 * or that a cut-short mark flipped but did not take out yet, is in its set: the caller
 * reads the flags, leaves it out and asks for the next step.) Scores within one inbox are
 * all different (each send is scored past the newest), so a score is a cursor.
 */
export async function newestInUnseenSets(
  client: RedisCluster,
  keys: Keys,
  userId: string,
  senders: readonly string[],
  wanted: number,
  from?: string,
): Promise<UnseenStep> {
  const sets = await Promise.all(
    senders.map((sender) =>
      client.zRangeWithScores(keys.unseen(userId, sender), from ? `(${from}` : '+inf', '-inf', {
        BY: 'SCORE',
        REV: true,
        LIMIT: { offset: 0, count: wanted },
      }),
    ),
  );
  const newest = sets
    .flat()
    .sort((a, b) => b.score - a.score)
    .slice(0, wanted);
  const members = newest.map((entry) => entry.value);
  const last = newest.at(-1);
  return newest.length === wanted && last ? { members, next: String(last.score) } : { members };
}
