/**
 * Builds the new indexes for data the original program wrote: folded names (so that
 * case variants of its names are refused), the user index, and the conversation indexes
 * (so that its messages show up in conversations). Every write is "add if missing" or
 * "raise to the newest", so running it twice, or while messages are being sent, changes
 * nothing that is already right.
 * @module
 */
import type { RedisClient } from '../redis/connect.js';
import { foldSeedNames } from './folded-names.js';
import type { Keys } from './keys.js';
import { messageIdOfMember } from './keys.js';

export interface ReindexProgress {
  /** Users processed so far (each with their whole inbox). */
  done: number;
  /** Users in the `usernames` hash when the run started. */
  total: number;
}

export interface ReindexReport {
  users: number;
  messages: number;
  /** Folded names added for names that had none. */
  namesFolded: number;
  /** Legacy names that fold to a name another user already holds: both users are kept. */
  nameConflicts: string[];
  /** Index entries skipped because they held no valid id or pointed at no message. */
  skipped: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CHUNK = 500;

export async function rebuildIndexes(
  client: RedisClient,
  keys: Keys,
  onProgress?: (progress: ReindexProgress) => void,
): Promise<ReindexReport> {
  const folding = await foldSeedNames(client, keys);
  const report: ReindexReport = {
    users: 0,
    messages: 0,
    namesFolded: folding.added,
    nameConflicts: folding.conflicts,
    skipped: 0,
  };
  const total = await client.hLen(keys.usernames);
  onProgress?.({ done: 0, total });
  const done = new Set<string>(); // HSCAN may return an entry twice
  let cursor = '0';
  do {
    const scan = await client.hScan(keys.usernames, cursor, { COUNT: CHUNK });
    cursor = scan.cursor;
    for (const { value: userId } of scan.entries) {
      if (done.has(userId)) continue;
      done.add(userId);
      if (!UUID.test(userId)) {
        report.skipped++;
        continue;
      }
      await indexUser(client, keys, userId);
      report.messages += await indexInbox(client, keys, userId, report);
      report.users++;
      onProgress?.({ done: report.users, total });
    }
  } while (cursor !== '0');
  return report;
}

async function indexUser(client: RedisClient, keys: Keys, userId: string): Promise<void> {
  const score = Number(await client.hGet(keys.user(userId), 'created_at'));
  await client.zAdd(
    keys.userIndex,
    { score: Number.isFinite(score) ? score : 0, value: userId },
    { condition: 'NX' },
  );
}

/** Adds every message of one inbox to its conversation; returns how many it looked at. */
async function indexInbox(
  client: RedisClient,
  keys: Keys,
  userId: string,
  report: ReindexReport,
): Promise<number> {
  let seen = 0;
  for (let start = 0; ; start += CHUNK) {
    const entries = await client.zRangeWithScores(keys.inbox(userId), start, start + CHUNK - 1);
    if (entries.length === 0) return seen;
    const senders = await Promise.all(
      entries.map(({ value }) => client.hGet(keys.message(messageIdOfMember(value)), 'sender_id')),
    );
    const writes: Promise<unknown>[] = [];
    entries.forEach(({ value: member, score }, i) => {
      const sender = senders[i];
      if (!sender || !UUID.test(sender) || sender === userId) {
        report.skipped++;
        return;
      }
      writes.push(
        client.zAdd(
          keys.conversation(userId, sender),
          { score, value: member },
          { condition: 'NX' },
        ),
        client.zAdd(keys.conversations(userId), { score, value: sender }, { comparison: 'GT' }),
        client.zAdd(keys.conversations(sender), { score, value: userId }, { comparison: 'GT' }),
      );
    });
    await Promise.all(writes);
    seen += entries.length;
  }
}
