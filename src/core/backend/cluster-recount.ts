/**
 * reindex's unread recount on a Redis Cluster, streamed: the inbox is read a step at a
 * time (RECOUNT_STEP entries, then their flags), and each step brings the sets of unseen
 * messages (`user_unseen:{<user>}:<sender>`, which the counters are the sizes of) in line
 * with the flags it read: a message found seen is taken out (forget-unread-n), one found
 * unseen and in no set is put in (add-unseen-n). Nothing is replaced wholesale, so this
 * process holds one step, never the inbox (reading it whole held 778 MB of heap for
 * 200,000 messages), no call grows with the inbox, and a step needs no retry.
 *
 * Exact while the messenger is in use. A send puts its message in the set itself. A mark
 * flips in the message's slot, then takes the message out of its set: a flip this step
 * read before is taken out by the mark (or by this step: removing twice removes once); a
 * flip landing between this step's read of an unseen flag and its add is caught by
 * reading the flags of what it added once more, and taking those out again.
 * @module
 */
import type { RedisCluster } from '../../redis/connect.js';
import type { Keys } from '../keys.js';
import { scripts } from '../scripts.js';
import { isId } from '../validate.js';
import { readHash } from './cluster-read.js';
import type { StepRunner } from './writes.js';

/** Inbox entries one step reads: their flags are one bounded read each, sent at once. */
const RECOUNT_STEP = 500;
/** Senders whose counters one forget-unread-n sets, after the walk. */
const SENDERS_AT_ONCE = 100;

/** A sender's part of a step: what to take out of the set, what to put in. */
interface SenderPart {
  seen: string[];
  unseen: string[];
}

export async function recountUnreadStreamed(
  client: RedisCluster,
  keys: Keys,
  userId: string,
  step: StepRunner,
): Promise<void> {
  const walked = new Set<string>();
  for (let start = 0; ; start += RECOUNT_STEP) {
    const senders = await step(() => recountStep(client, keys, userId, start));
    if (senders === null) break;
    for (const sender of senders) walked.add(sender);
  }
  await setCountersNotWalked(client, keys, userId, walked, step);
}

/**
 * One step of the walk: RECOUNT_STEP entries from rank `start`, the sets brought in line
 * with their flags; returns the senders it met (null: no entry there, the walk is over).
 */
async function recountStep(
  client: RedisCluster,
  keys: Keys,
  userId: string,
  start: number,
): Promise<string[] | null> {
  const inbox = keys.inbox(userId);
  const entries = await client.zRangeWithScores(inbox, start, start + RECOUNT_STEP - 1);
  if (entries.length === 0) return null;
  const flags = await Promise.all(
    entries.map(({ value }) =>
      readHash(client, keys.messageOfMember(value), ['sender_id', 'seen']),
    ),
  );
  const parts = new Map<string, SenderPart>();
  entries.forEach(({ value, score }, i) => {
    const [sender, seen] = flags[i] ?? [];
    // An entry whose hash is gone names no sender: markConversationSeen drops it.
    if (!sender || !isId(sender)) return;
    const part = parts.get(sender) ?? { seen: [], unseen: [] };
    if (seen === 'False') part.unseen.push(String(score), value);
    else part.seen.push(value);
    parts.set(sender, part);
  });
  await forget(
    client,
    keys,
    userId,
    [...parts].map(([s, part]) => [s, part.seen]),
  );
  const added = (await scripts.addUnseen.run(
    client,
    [keys.unread(userId), ...[...parts.keys()].map((sender) => keys.unseen(userId, sender))],
    [...parts].flatMap(([sender, { unseen }]) => [sender, String(unseen.length / 2), ...unseen]),
  )) as string[];
  await takeOutFlippedSince(client, keys, userId, added);
  return [...parts.keys()];
}

/** After the walk, in steps of SENDERS_AT_ONCE. */
async function setCountersNotWalked(
  client: RedisCluster,
  keys: Keys,
  userId: string,
  walked: Set<string>,
  step: StepRunner,
): Promise<void> {
  // Counters of senders the walk did not meet (nothing of theirs is in the inbox, or the
  // counter was written before its set existed) are set to their sets' sizes too; a
  // field that names no user is bad data, and goes.
  const fields = Object.keys(await step(() => client.hGetAll(keys.unread(userId))));
  const bad = fields.filter((field) => !isId(field));
  if (bad.length > 0) await step(() => client.hDel(keys.unread(userId), bad));
  const others = fields.filter((field) => isId(field) && !walked.has(field));
  for (let i = 0; i < others.length; i += SENDERS_AT_ONCE) {
    const batch = others.slice(i, i + SENDERS_AT_ONCE);
    await step(() =>
      forget(
        client,
        keys,
        userId,
        batch.map((sender) => [sender, []]),
      ),
    );
  }
}

/** Members added to a set whose flag a mark flipped after this step read it. */
async function takeOutFlippedSince(
  client: RedisCluster,
  keys: Keys,
  userId: string,
  added: string[],
): Promise<void> {
  if (added.length === 0) return;
  const flags = await Promise.all(
    added.map((member) => readHash(client, keys.messageOfMember(member), ['sender_id', 'seen'])),
  );
  const flipped = new Map<string, string[]>();
  added.forEach((member, i) => {
    const [sender, seen] = flags[i] ?? [];
    if (!sender || seen === 'False') return;
    flipped.set(sender, [...(flipped.get(sender) ?? []), member]);
  });
  await forget(client, keys, userId, [...flipped]);
}

/** forget-unread-n: takes members out of the senders' sets, sets their counters to the sizes. */
async function forget(
  client: RedisCluster,
  keys: Keys,
  userId: string,
  bySender: [string, string[]][],
): Promise<void> {
  if (bySender.length === 0) return;
  await scripts.forgetUnread.run(
    client,
    [keys.unread(userId), ...bySender.map(([sender]) => keys.unseen(userId, sender))],
    bySender.flatMap(([sender, members]) => [sender, String(members.length), ...members]),
  );
}
