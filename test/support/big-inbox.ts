/**
 * One very big inbox and conversation, stored fast (pipelined batches), as the send steps
 * would have stored them: `count` messages from a to b, all unseen and counted (on a
 * cluster, in the set of unseen messages too). For the bounded-work test and bench.
 */
import { randomUUID } from 'node:crypto';
import type { Keys } from '../../src/core/keys.js';
import type { RedisConnection } from '../../src/redis/connect.js';

// Small enough that a batch is answered within node-redis's 5 s command timeout on a busy machine.
const BATCH = 1000;

/** The n-th message id of a big inbox: a UUID the messenger accepts, in sending order. */
export function bigInboxMessageId(n: number): string {
  return `0000bee0-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
}

export async function fillBigInbox(
  client: RedisConnection,
  keys: Keys,
  users: { a: string; b: string },
  count: number,
): Promise<void> {
  const { a, b } = users;
  const cluster = keys.layout === 'cluster';
  // Scores one millisecond apart, ending a little before now.
  const start = (Math.floor(Date.now() / 1000) - Math.ceil(count / 1000) - 10) * 1000;
  for (let first = 0; first < count; first += BATCH) {
    const entries: { score: number; value: string }[] = [];
    const writes: Promise<unknown>[] = [];
    for (let n = first; n < Math.min(count, first + BATCH); n++) {
      const id = bigInboxMessageId(n);
      const ms = start + n;
      const timestamp = `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}000`;
      entries.push({ score: Number(timestamp), value: keys.messageMember(id, b) });
      writes.push(
        client.hSet(keys.message(id, b), {
          message_id: id,
          sender_id: a,
          receiver_id: b,
          message: `message ${n}`,
          timestamp,
          seen: 'False',
        }),
      );
    }
    writes.push(client.zAdd(keys.inbox(b), entries), client.zAdd(keys.conversation(a, b), entries));
    // On a cluster each user has a copy of the conversation.
    if (cluster) writes.push(client.zAdd(keys.conversation(b, a), entries));
    if (cluster) writes.push(client.zAdd(keys.unseen(b, a), entries));
    await Promise.all(writes);
  }
  await client.hSet(keys.unread(b), a, String(count));
  await client.zAdd(keys.conversations(b), { score: count, value: a });
}

/** Makes the oldest message of the big inbox unseen and counted again; returns its id. */
export async function unseenAtTheBottom(
  client: RedisConnection,
  keys: Keys,
  users: { a: string; b: string },
): Promise<string> {
  const { a, b } = users;
  const id = bigInboxMessageId(0);
  await client.hSet(keys.message(id, b), 'seen', 'False');
  await client.hSet(keys.unread(b), a, '1');
  if (keys.layout === 'cluster') {
    const [oldest] = await client.zRangeWithScores(keys.inbox(b), 0, 0);
    if (oldest) await client.zAdd(keys.unseen(b, a), oldest);
  }
  return id;
}

/**
 * `count` unseen messages from a to b as another program stores them: the hash and the
 * inbox entry, counted nowhere (no counter, no set of unseen messages). Returns their ids.
 */
export async function storeUncounted(
  client: RedisConnection,
  keys: Keys,
  users: { a: string; b: string },
  count: number,
): Promise<string[]> {
  const { a, b } = users;
  const ids = Array.from({ length: count }, () => randomUUID());
  const start = Math.floor(Date.now() / 1000) - 10_000;
  await Promise.all(
    ids.map((id, i) =>
      Promise.all([
        client.hSet(keys.message(id, b), {
          message_id: id,
          sender_id: a,
          receiver_id: b,
          message: `${i}`,
          timestamp: `${start + i}.000000`,
          seen: 'False',
        }),
        client.zAdd(keys.inbox(b), { score: start + i, value: keys.messageMember(id, b) }),
      ]),
    ),
  );
  return ids;
}
