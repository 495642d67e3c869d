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
import type { StepRunner } from './backend/writes.js';
import type { StampedMessage } from './pages.js';
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

/**
 * Each step (a batch of names, a chunk of an inbox, a step of a recount) is run through `step`, with a
 * deadline of its own: a big inbox takes many, and a step that fails ends the run there.
 */
export async function rebuildIndexes(
  backend: Backend,
  step: StepRunner,
  onProgress?: (progress: ReindexProgress) => void,
): Promise<ReindexReport> {
  const { client, keys, writes } = backend;
  const names = await indexSeedNames(client, keys, step);
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
    report.messages += await indexInbox(backend, userId, report, step);
    await writes.recountUnread(userId, step);
    report.users++;
    onProgress?.({ done: report.users, total });
  }
  return report;
}

/** Adds every message of one inbox to its conversation; returns how many it looked at. */
export async function indexInbox(
  backend: Backend,
  userId: string,
  report: ReindexReport,
  step: StepRunner,
): Promise<number> {
  let seen = 0;
  for (let start = 0; ; start += CHUNK) {
    const entries = await step(() => indexChunk(backend, userId, start, report));
    if (entries === 0) return seen;
    seen += entries;
  }
}

/** One step of indexInbox: CHUNK entries from rank `start`; returns how many it read. */
async function indexChunk(
  backend: Backend,
  userId: string,
  start: number,
  report: ReindexReport,
): Promise<number> {
  const { client, keys } = backend;
  const entries = await client.zRangeWithScores(keys.inbox(userId), start, start + CHUNK - 1);
  if (entries.length === 0) return 0;
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
      ...conversationWrites(backend, userId, sender, {
        member,
        score,
        timestamp: timestamp ?? null,
      }),
    );
  });
  await Promise.all(writes);
  return entries.length;
}

/**
 * The writes that put one inbox entry into its conversation and both users' lists of
 * conversations, each adding only what is missing (or raising to the newest), so that
 * running them again, or after the send that stored them, changes nothing.
 */
function conversationWrites(
  backend: Backend,
  userId: string,
  sender: string,
  entry: { member: string; score: number; timestamp: string | null },
): Promise<unknown>[] {
  return [
    backend.writes.indexReceived(userId, sender, entry),
    ...listingWrites(backend, userId, sender, entry.score),
  ];
}

/** Both users' `user_conversations` entries for a message at `score` (raised, never lowered). */
function listingWrites(
  { client, keys }: Backend,
  userId: string,
  sender: string,
  score: number,
): Promise<unknown>[] {
  return [
    client.zAdd(keys.conversations(userId), { score, value: sender }, { comparison: 'GT' }),
    client.zAdd(keys.conversations(sender), { score, value: userId }, { comparison: 'GT' }),
  ];
}

/**
 * Live, for a subscription on the original program's keys: adds the messages a catch-up
 * found in `userId`'s inbox to their conversations, as `reindex` would. Only on one Redis,
 * where a send's own entries are written in the same script as the inbox entry (on a
 * cluster this could land between the steps of a send and place its conversation entry
 * before the newest). The score is the hash's timestamp, which on one Redis is the inbox
 * score (both programs write one value to both). Only messages stored without a `seen`
 * field, as the original stores them: this library's are indexed by their send. Two
 * round trips at most: the conversation entries (`ZADD NX`), then both users' lists for
 * those it added.
 */
export async function indexFoundMessages(
  backend: Backend,
  userId: string,
  items: readonly StampedMessage[],
): Promise<void> {
  const { client, keys } = backend;
  const entries = items.flatMap(({ message, timestamp, seenless }) => {
    // This library writes a message's conversation entries with it, and always a `seen`.
    if (!seenless) return [];
    const score = Number(timestamp);
    const sender = message.senderId;
    if (!isId(sender) || sender === userId || !Number.isFinite(score)) return [];
    return [{ sender, score, member: keys.messageMember(message.id, userId) }];
  });
  const added = await Promise.all(
    entries.map(({ sender, score, member }) =>
      client.zAdd(keys.conversation(userId, sender), { score, value: member }, { condition: 'NX' }),
    ),
  );
  const fresh = entries.filter((_, i) => added[i] === 1);
  await Promise.all(
    fresh.flatMap(({ sender, score }) => listingWrites(backend, userId, sender, score)),
  );
}
