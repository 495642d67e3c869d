/**
 * The messenger's multi-key writes on a Redis Cluster. A script can only touch keys of
 * one hash slot, so each write is a sequence of single-slot steps, ordered so that a
 * crash between two steps leaves nothing visible that is wrong, and idempotent so that
 * running the write again (a send retried with its message id) completes it.
 * docs/schema.md lists the steps of each write.
 * @module
 */
import type { RedisCluster } from '../redis/connect.js';
import { sentBell } from './doorbell.js';
import { MessengerError } from './errors.js';
import { type Keys, messageMember } from './keys.js';
import { scripts } from './scripts.js';
import type { SendReply, Writes } from './writes.js';

/** How many conversation entries markConversationSeen reads at a time. */
const WALK_PAGE = 100;
/** How many times reindex recounts an inbox that keeps changing before it gives up. */
const RECOUNT_ATTEMPTS = 5;

export class ClusterWrites implements Writes {
  constructor(
    private readonly client: RedisCluster,
    private readonly keys: Keys,
  ) {}

  /**
   * 1. the user hash (nothing names the new id yet: invisible); 2. the name claimed in the
   * directory slot, atomically, as on one Redis. If the name is taken, the hash goes again.
   */
  async createUser(name: string, foldedName: string, id: string): Promise<string | number> {
    const { client, keys } = this;
    const createdAt = (await scripts.storeUser.run(client, [keys.user(id)], [id, name])) as string;
    const reply = (await scripts.createUser.run(
      client,
      [keys.usernames, keys.foldedUsernames, keys.userIndex, keys.usernamesIndexed],
      [name, foldedName, id, createdAt],
    )) as string | number;
    if (typeof reply === 'number' && reply < 0) await client.del(keys.user(id));
    return reply;
  }

  /**
   * 1. the message hash (invisible: nothing indexes it), with, alongside, a check that the
   * sender exists (users are never deleted, so it stays true); 2. in the receiver's slot,
   * after checking the receiver exists: the inbox entry (now it is visible), unread count,
   * receiver's recency and doorbell; 3. the hash's timestamp set to the inbox score; 4. the
   * conversation entry; 5. the sender's recency, and (the first time) the sender's channel
   * told what they sent. Steps 3 to 5 go out together: three round
   * trips in all. Every step is "create if missing" or "raise to", so a retry completes
   * whatever a crash cut short, and stores nothing twice. A send refused for a missing
   * user takes back the hash it stored.
   */
  async sendMessage(
    id: string,
    sender: string,
    receiver: string,
    text: string,
  ): Promise<SendReply> {
    const { client, keys } = this;
    const [senderExists, [stored, seen]] = await Promise.all([
      client.exists(keys.user(sender)),
      scripts.storeMessage.run(client, [keys.message(id)], [id, sender, receiver, text]) as Promise<
        [number, string?]
      >,
    ]);
    const refuse = async (code: number): Promise<SendReply> => {
      if (stored === 1) await client.del(keys.message(id));
      return { code, timestamp: '', seen: false };
    };
    if (stored < 0) return { code: stored, timestamp: '', seen: false };
    if (senderExists === 0) return refuse(-1);
    const [delivered, timestamp = '0'] = (await scripts.deliverMessage.run(
      client,
      [
        keys.user(receiver),
        keys.inbox(receiver),
        keys.conversations(receiver),
        keys.unread(receiver),
      ],
      [id, sender, receiver, text, keys.inboxChannel(receiver)],
    )) as [number, string?];
    if (delivered < 0) return refuse(delivered);
    const score = Number(timestamp);
    const sentNow = delivered === 1;
    await Promise.all([
      client.hSet(keys.message(id), 'timestamp', timestamp),
      client.zAdd(
        keys.conversation(sender, receiver),
        { score, value: messageMember(id) },
        { condition: 'NX' },
      ),
      client.zAdd(keys.conversations(sender), { score, value: receiver }, { comparison: 'GT' }),
      sentNow &&
        client.sPublish(
          keys.inboxChannel(sender),
          sentBell({ id, sender, receiver, text, timestamp }),
        ),
    ]);
    return { code: stored, timestamp, seen: seen === 'True' };
  }

  async addContact(userId: string, contactId: string): Promise<number> {
    const { client, keys } = this;
    const missing = await this.#missingUser(userId, contactId);
    if (missing < 0) return missing;
    return (await scripts.addContact.run(
      client,
      [keys.user(userId), keys.contacts(userId)],
      [contactId],
    )) as number;
  }

  /**
   * 1. which of the messages are in the user's inbox (a hash whose send stopped after
   * step 1 was never counted unread); 2. each flipped to seen in its own slot, atomically,
   * so two callers count a message once; 3. the counters lowered in the user's slot.
   * A crash between 2 and 3 leaves a counter too high (a message shown as unread that
   * is seen), which reindex corrects; never too low.
   */
  async markSeen(userId: string, messageIds: string[]): Promise<number> {
    const { client, keys } = this;
    const scores = await client.zmScore(keys.inbox(userId), messageIds.map(messageMember));
    const received = messageIds.filter((_, i) => scores[i] !== null);
    const senders = await Promise.all(
      received.map((id) => scripts.flipSeen.run(client, [keys.message(id)], [userId])),
    );
    return this.#forget(userId, countBySender(senders));
  }

  /**
   * Walks the conversation from its newest message back, a page at a time, flipping the
   * other user's unseen messages to seen, until it has found as many as the counter said
   * (or walked it all); then lowers the counter by what it flipped. Only by that: a send
   * counts its message unread (step 2) before it enters the conversation (step 4), so a
   * counter higher than what the walk finds may be a message on its way, which must stay
   * counted. (A counter left too high by a crash is corrected by reindex.)
   */
  async markConversationSeen(userId: string, otherId: string): Promise<number> {
    const { client, keys } = this;
    const conversation = keys.conversation(userId, otherId);
    const left = Number((await client.hGet(keys.unread(userId), otherId)) ?? 0);
    let marked = 0;
    let high = left > 0 ? (await client.zCard(conversation)) - 1 : -1;
    while (marked < left && high >= 0) {
      const low = Math.max(0, high - WALK_PAGE + 1);
      const members = await client.zRange(conversation, low, high);
      const hashes = await Promise.all(
        members.map((member) => client.hmGet(keys.messageOfMember(member), ['sender_id', 'seen'])),
      );
      const unseen = members.filter(
        (_, i) => hashes[i]?.[0] === otherId && hashes[i]?.[1] === 'False',
      );
      const flipped = await Promise.all(
        unseen.map((member) =>
          scripts.flipSeen.run(client, [keys.messageOfMember(member)], [userId]),
        ),
      );
      marked += flipped.filter((sender) => typeof sender === 'string').length;
      high = low - 1;
    }
    if (marked > 0) await this.#forget(userId, new Map([[otherId, marked]]));
    return marked;
  }

  /**
   * Reads the inbox and the counters together (one MULTI in the user's slot), counts the
   * unseen messages per sender from the hashes, then replaces the counters in one step
   * that checks neither the inbox nor the counters changed meanwhile; counts again if
   * they did. (A markSeen whose flip lands before this reads the flags and whose counter
   * step lands after the replacement can still lower a counter once too often: the
   * window is one round trip of each.)
   */
  async recountUnread(userId: string): Promise<void> {
    const { client, keys } = this;
    const inbox = keys.inbox(userId);
    const unread = keys.unread(userId);
    for (let attempt = 0; attempt < RECOUNT_ATTEMPTS; attempt++) {
      const [members, before] = (await client
        .multi()
        .zRange(inbox, 0, -1)
        .hGetAll(unread)
        .exec()) as unknown as [string[], Record<string, string>];
      const hashes = await Promise.all(
        members.map((member) => client.hmGet(keys.messageOfMember(member), ['sender_id', 'seen'])),
      );
      const counts = countBySender(
        hashes.map(([sender, seen] = []) => (seen === 'False' ? sender : null)),
      );
      const held = Object.entries(before);
      const replaced = await scripts.replaceUnread.run(
        client,
        [inbox, unread],
        [
          String(members.length),
          members.at(-1) ?? '',
          String(held.length),
          ...held.flat(),
          ...pairs(counts),
        ],
      );
      if (replaced === 1) return;
    }
    throw new MessengerError(
      `the inbox or the unread counters of user ${userId} kept changing while they were counted; run reindex again`,
    );
  }

  /**
   * -1 when the first user does not exist, -2 when the second does not, else 0. Users are
   * never deleted, so what this finds stays true for the steps after it.
   */
  async #missingUser(first: string, second: string): Promise<number> {
    const [firstExists, secondExists] = await Promise.all([
      this.client.exists(this.keys.user(first)),
      this.client.exists(this.keys.user(second)),
    ]);
    if (firstExists === 0) return -1;
    return secondExists === 0 ? -2 : 0;
  }

  /** Lowers the user's unread counters; returns how many messages that was. */
  async #forget(userId: string, counts: Map<string, number>): Promise<number> {
    if (counts.size > 0) {
      await scripts.forgetUnread.run(this.client, [this.keys.unread(userId)], pairs(counts));
    }
    return [...counts.values()].reduce((sum, count) => sum + count, 0);
  }
}

/** How many times each sender occurs (entries that are not a string are skipped). */
function countBySender(senders: unknown[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const sender of senders) {
    if (typeof sender === 'string') counts.set(sender, (counts.get(sender) ?? 0) + 1);
  }
  return counts;
}

function pairs(counts: Map<string, number>): string[] {
  return [...counts].flatMap(([sender, count]) => [sender, String(count)]);
}
