/**
 * Finding a user's newest unseen messages (for listUnreadMessages) without reading their
 * whole inbox, in steps that each hold Redis for a bounded time, and correcting what the
 * steps find wrong on the way. On one Redis a step walks down the inbox reading the `seen`
 * flags in a script (find-unseen-2), at most UNSEEN_STEP entries; a walk that reaches the
 * oldest entry knows every unseen message, and lowers a counter that said more
 * (repair-unread-2). On a cluster the sets of unseen messages per sender
 * (`user_unseen:{<user>}:<sender>`) already hold the answer, newest last; a member whose
 * message is gone, seen or no longer in the inbox is taken out where it is met
 * (prune-unseen-n).
 * @module
 */
import type { RedisClient, RedisCluster } from '../redis/connect.js';
import type { Backend } from './backend/backend.js';
import type { StepRunner } from './backend/writes.js';
import type { Keys } from './keys.js';
import { readMessagesOf } from './pages.js';
import { scripts } from './scripts.js';
import type { Message } from './types.js';

/** Inbox entries one step reads on one Redis: under a millisecond of Redis's time on a quiet machine. */
export const UNSEEN_STEP = 250;
/**
 * On a cluster, members a step reads once a step has met members that are no longer
 * unread: past a few stale ones, pruning goes faster in pages than one wanted at a time.
 */
const PRUNE_PAGE = 100;

/** One step: unseen members of the inbox, newest first, and where to go on (none: done). */
export interface UnseenStep {
  members: string[];
  next?: string;
}

/** One step of the walk on one Redis, with what it needs to correct counters afterwards. */
interface InboxStep extends UnseenStep {
  /** The member this step read last: the next step checks that it is still above it. */
  last: string;
  /** Ranks moved since the last step (an entry below was removed or inserted). */
  moved: boolean;
  /** On a first step that did not find all it wanted: the newest entry's score, the counters. */
  start?: { newest: string; counters: Map<string, string> };
}

/** One Redis: walks the inbox down from `from` (a rank; none: the newest entry). */
async function walkInboxForUnseen(
  client: RedisClient,
  keys: Keys,
  userId: string,
  wanted: number,
  from: string | undefined,
  last: string,
): Promise<InboxStep> {
  const [next, lastRead, moved, newest, counters, ...members] = (await scripts.findUnseen.run(
    client,
    [keys.inbox(userId), keys.unread(userId)],
    [keys.prefix, from ?? '', String(wanted), String(UNSEEN_STEP), last],
  )) as [number, string, number, string, string[], ...string[]];
  const step: InboxStep = { members, last: lastRead, moved: moved === 1 };
  if (next !== -1) step.next = String(next);
  if (newest !== '') {
    const start = new Map<string, string>();
    for (let i = 0; i < counters.length; i += 2) {
      start.set(counters[i] as string, counters[i + 1] as string);
    }
    step.start = { newest, counters: start };
  }
  return step;
}

/**
 * One Redis: the newest `wanted` unseen messages of the inbox, newest first, walking down
 * from the newest entry a bounded step at a time until it holds them (or reaches the
 * oldest). The flags are read again with the hashes: a message marked since, or whose
 * hash is gone, is left out and the walk goes on past it. A counter says how many unseen
 * messages a sender has; when the walk read the whole inbox and found fewer than a
 * counter said, that counter was too high (the next listing would walk the whole inbox
 * again for what is not there), and is corrected unless a mark changed it meanwhile.
 */
export async function listUnseenInInbox(
  backend: Backend,
  client: RedisClient,
  userId: string,
  wanted: number,
  step: StepRunner,
): Promise<Message[]> {
  const unread: Message[] = [];
  const found = new Map<string, number>();
  let start: InboxStep['start'];
  let moved = false;
  let from: string | undefined;
  let last = '';
  while (unread.length < wanted) {
    const walked = await step(() =>
      walkInboxForUnseen(client, backend.keys, userId, wanted - unread.length, from, last),
    );
    start ??= walked.start;
    moved ||= walked.moved;
    const read = await step(() => readMessagesOf(backend, walked.members));
    for (const item of read) {
      if (!item || item.message.seen) continue;
      unread.push(item.message);
      found.set(item.message.senderId, (found.get(item.message.senderId) ?? 0) + 1);
    }
    if (walked.next === undefined) {
      // The oldest entry was read: every unseen message is known (unless ranks moved).
      const began = start;
      if (began && !moved)
        await step(() => correctCounters(client, backend.keys, userId, began, found));
      break;
    }
    from = walked.next;
    last = walked.last;
  }
  return unread;
}

/** repair-unread-2 for every counter above what the walk found. */
async function correctCounters(
  client: RedisClient,
  keys: Keys,
  userId: string,
  start: NonNullable<InboxStep['start']>,
  found: Map<string, number>,
): Promise<void> {
  const triples = [...start.counters].flatMap(([sender, count]) => {
    const unseen = found.get(sender) ?? 0;
    return Number(count) > unseen ? [sender, count, String(unseen)] : [];
  });
  if (triples.length === 0) return;
  await scripts.repairUnread.run(
    client,
    [keys.inbox(userId), keys.unread(userId)],
    [keys.prefix, start.newest, ...triples],
  );
}

/**
 * A cluster: the newest `wanted` of each sender's set scored below `from` (none: all),
 * merged by score, in one round trip of one bounded read per sender, with the set each
 * came from. Scores within one inbox are all different (each send is scored past the
 * newest), so a score is a cursor.
 */
async function newestInUnseenSets(
  client: RedisCluster,
  keys: Keys,
  userId: string,
  senders: readonly string[],
  wanted: number,
  from?: string,
): Promise<UnseenStep & { senders: string[] }> {
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
    .flatMap((set, s) => set.map((entry) => ({ ...entry, sender: senders[s] as string })))
    .sort((a, b) => b.score - a.score)
    .slice(0, wanted);
  const step: UnseenStep & { senders: string[] } = {
    members: newest.map((entry) => entry.value),
    senders: newest.map((entry) => entry.sender),
  };
  const last = newest.at(-1);
  if (newest.length === wanted && last) step.next = String(last.score);
  return step;
}

/**
 * A cluster: the newest `wanted` unseen messages from `senders`, newest first, read from
 * their sets of unseen messages. Each set holds what its counter counts, so the first
 * step usually finishes. A member that is not unread (its hash gone or not a hash, a
 * retention job having deleted it; seen, flipped by a mark cut short before it took the
 * member out; no longer in the inbox) is left out and taken out of its set, its counter
 * set to what is left: one bounded script a step, so such members are met once. When
 * the sets run out before `wanted`, every counter is set to its set's size.
 */
export async function listUnseenInSets(
  backend: Backend,
  client: RedisCluster,
  userId: string,
  senders: readonly string[],
  wanted: number,
  step: StepRunner,
): Promise<Message[]> {
  const { keys } = backend;
  const unread: Message[] = [];
  let from: string | undefined;
  let stale = false;
  while (unread.length < wanted) {
    const need = wanted - unread.length;
    const count = stale ? Math.max(need, PRUNE_PAGE) : need;
    const found = await step(() => newestInUnseenSets(client, keys, userId, senders, count, from));
    const [read, scores] = await step(() =>
      Promise.all([
        readMessagesOf(backend, found.members),
        found.members.length > 0
          ? client.zmScore(keys.inbox(userId), found.members)
          : Promise.resolve([]),
      ]),
    );
    const prune = new Map<string, string[]>();
    found.members.forEach((member, i) => {
      const item = read[i];
      let why = '';
      if (!item) why = 'gone';
      else if (item.message.seen) why = 'seen';
      else if (scores[i] === null || scores[i] === undefined) why = 'absent';
      else if (unread.length < wanted) unread.push(item.message);
      if (why === '') return;
      const sender = found.senders[i] as string;
      prune.set(sender, [...(prune.get(sender) ?? []), member, why]);
    });
    if (prune.size > 0) {
      stale = true;
      await step(() => pruneUnseen(client, keys, userId, prune));
    }
    if (found.next === undefined) break;
    from = found.next;
  }
  // The sets hold fewer than the counters said: a counter drifted from its set (written
  // by something else). Each is set to its set's size, as every write of a set does.
  if (unread.length < wanted) {
    await step(() => pruneUnseen(client, keys, userId, new Map(senders.map((s) => [s, []]))));
  }
  return unread;
}

/** prune-unseen-n: takes members that are not unread out of their sets, sets the counters. */
async function pruneUnseen(
  client: RedisCluster,
  keys: Keys,
  userId: string,
  bySender: Map<string, string[]>,
): Promise<void> {
  const senders = [...bySender.keys()];
  await scripts.pruneUnseen.run(
    client,
    [keys.unread(userId), keys.inbox(userId), ...senders.map((s) => keys.unseen(userId, s))],
    senders.flatMap((sender) => {
      const pairs = bySender.get(sender) ?? [];
      return [sender, String(pairs.length / 2), ...pairs];
    }),
  );
}
