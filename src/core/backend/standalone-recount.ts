/**
 * reindex's unread recount on one Redis, in steps: a walk up the inbox counting unseen
 * messages per sender (count-unread-2, a bounded number of entries a call), then one
 * short step that writes the counters (commit-unread-2). One script over the whole inbox
 * held Redis for 470 ms at 200,000 messages; each step now holds it for a few ms, and
 * this process keeps only a count per sender, never the inbox.
 *
 * Exact while the messenger is in use: a send during the walk appends an entry, which the
 * walk reads, and raises its sender's counter by one; the last step checks that every
 * counter holds what it held when the walk began plus those sends. Anything else that
 * changed a counter (a mark: it may have flipped an entry the walk had already counted)
 * makes the walk start again, as does an entry inserted below the walk (ranks moved).
 * A mark changes no counter when it flips a message no counter counted while its
 * sender's counter is 0 (a counter never goes below 0): so a walk that found unseen
 * messages from such a sender, once written, walks once more, now with a counter there
 * that such a mark lowers, and the second commit makes it exact.
 * @module
 */
import { MessengerError } from '../../errors.js';
import type { RedisClient } from '../../redis/connect.js';
import type { Keys } from '../keys.js';
import { scripts } from '../scripts.js';
import type { StepRunner } from './writes.js';

/** Inbox entries one step reads: 1 to 2 ms of Redis's time on a quiet machine (docs/performance.md). */
export const RECOUNT_STEP = 500;
/** Walks over an inbox whose counters keep being changed by marks, before giving up. */
const ATTEMPTS = 5;

/** count-unread-2's reply: [-1] when the walk must start again, else the step's counts. */
type StepReply =
  | [-1]
  | [number, number, number, (string | number)[], (string | number)[], string[], string];

function addPairs(into: Map<string, number>, pairs: (string | number)[]): void {
  for (let i = 0; i < pairs.length; i += 2) {
    const sender = String(pairs[i]);
    into.set(sender, (into.get(sender) ?? 0) + Number(pairs[i + 1]));
  }
}

export async function recountUnreadInSteps(
  client: RedisClient,
  keys: Keys,
  userId: string,
  step: StepRunner,
): Promise<void> {
  const inbox = keys.inbox(userId);
  const unread = keys.unread(userId);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const unseen = new Map<string, number>();
    const sent = new Map<string, number>();
    let counters: string[] = [];
    let startSize = '';
    let from = 0;
    let below = '';
    let again = false;
    for (;;) {
      const reply = (await step(() =>
        scripts.countUnread.run(
          client,
          [inbox, unread],
          [keys.prefix, String(from), below, String(RECOUNT_STEP), startSize],
        ),
      )) as StepReply;
      if (reply.length === 1) {
        again = true;
        break;
      }
      const [next, size, start, stepUnseen, stepSent, stepCounters, last] = reply as Exclude<
        StepReply,
        [-1]
      >;
      if (from === 0) {
        counters = stepCounters;
        startSize = String(start);
      }
      addPairs(unseen, stepUnseen);
      addPairs(sent, stepSent);
      below = last;
      from = next;
      if (next < size) continue;
      const committed = await step(() =>
        commit(client, [inbox, unread], from, counters, sent, unseen),
      );
      if (committed === -1) continue; // sends arrived after the walk's last step: walk on
      // Written, but a mark of a message the walk counted, while its sender had no counter
      // to lower, changed nothing the commit could see: such senders are walked once more,
      // now with a counter that any such mark lowers.
      again = committed === 0 || uncountedBefore(counters, unseen);
      break;
    }
    if (!again) return;
  }
  throw new MessengerError(
    `the unread counters of user ${userId} kept changing while they were counted; run reindex again`,
  );
}

/** Whether the walk found unseen messages from a sender whose counter was 0 when it began. */
function uncountedBefore(counters: string[], unseen: Map<string, number>): boolean {
  const counted = new Set<string>();
  for (let i = 0; i < counters.length; i += 2) {
    if (Number(counters[i + 1]) >= 1) counted.add(counters[i] as string);
  }
  return [...unseen].some(([sender, count]) => count > 0 && !counted.has(sender));
}

/** commit-unread-2: 1 written, 0 a counter changed otherwise, -1 the inbox grew. */
async function commit(
  client: RedisClient,
  keys: string[],
  size: number,
  counters: string[],
  sent: Map<string, number>,
  unseen: Map<string, number>,
): Promise<number> {
  // What each counter holds now if only sends changed it since the walk began.
  const expected = new Map<string, string>();
  for (let i = 0; i < counters.length; i += 2) {
    expected.set(counters[i] as string, counters[i + 1] as string);
  }
  for (const [sender, count] of sent) {
    expected.set(sender, String(Number(expected.get(sender) ?? 0) + count));
  }
  return Number(
    await scripts.commitUnread.run(client, keys, [
      String(size),
      String(expected.size),
      ...[...expected].flat(),
      ...[...unseen].flatMap(([sender, count]) => [sender, String(count)]),
    ]),
  );
}
