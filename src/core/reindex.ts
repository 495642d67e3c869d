/**
 * Builds the new indexes for data the original program (or any other program writing the
 * seed's schema) wrote: folded names and the user index, the conversation indexes (so its
 * messages show up in conversations) and the unread counters (recounted from the `seen`
 * flags). Every write is "add if missing", "raise to the newest" or an atomic recount, so
 * running it twice, or while messages are being sent, changes nothing that is right (on
 * a cluster the recount is a checked read-then-write instead: docs/schema.md says what
 * that leaves open). On a cluster it also finishes sends cut short after their delivery.
 * @module
 */
import type { Backend } from './backend/index.js';
import { indexSeedNames } from './seed-users.js';
import { isId } from './validate.js';

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

const CHUNK = 500;

export async function rebuildIndexes(
  backend: Backend,
  onProgress?: (progress: ReindexProgress) => void,
): Promise<ReindexReport> {
  const { client, keys, writes } = backend;
  const names = await indexSeedNames(client, keys);
  const report: ReindexReport = {
    users: 0,
    messages: 0,
    namesFolded: names.added,
    nameConflicts: names.conflicts,
    skipped: 0,
  };
  const userIds = [...names.userIds].filter((id) => isId(id));
  const total = userIds.length;
  onProgress?.({ done: 0, total });
  for (const userId of userIds) {
    report.messages += await indexInbox(backend, userId, report);
    await writes.recountUnread(userId);
    report.users++;
    onProgress?.({ done: report.users, total });
  }
  return report;
}

/** Adds every message of one inbox to its conversation; returns how many it looked at. */
async function indexInbox(
  backend: Backend,
  userId: string,
  report: ReindexReport,
): Promise<number> {
  const { client, keys } = backend;
  let seen = 0;
  for (let start = 0; ; start += CHUNK) {
    const entries = await client.zRangeWithScores(keys.inbox(userId), start, start + CHUNK - 1);
    if (entries.length === 0) return seen;
    const hashes = await Promise.all(
      entries.map(({ value }) =>
        backend.readHash(keys.messageOfMember(value), ['sender_id', 'timestamp']),
      ),
    );
    const writes: Promise<unknown>[] = [];
    entries.forEach(({ value: member, score }, i) => {
      const [sender, timestamp] = hashes[i] ?? [];
      if (!sender || !isId(sender) || sender === userId) {
        report.skipped++;
        return;
      }
      writes.push(
        backend.writes.indexReceived(userId, sender, {
          member,
          score,
          timestamp: timestamp ?? null,
        }),
        client.zAdd(keys.conversations(userId), { score, value: sender }, { comparison: 'GT' }),
        client.zAdd(keys.conversations(sender), { score, value: userId }, { comparison: 'GT' }),
      );
    });
    await Promise.all(writes);
    seen += entries.length;
  }
}
