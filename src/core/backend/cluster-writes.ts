/**
 * The messenger's multi-key writes on a Redis Cluster. A script can only touch keys of
 * one hash slot, so each write is a sequence of single-slot steps, ordered so that a
 * crash between two steps leaves nothing visible that is wrong, and idempotent so that
 * running the write again (a send retried with its message id) completes it.
 * docs/schema.md lists the steps of each write.
 * @module
 */

import { BadDataError, Refusal } from '../../errors.js';
import type { RoutedCommands } from '../../redis/routed-commands.js';
import { type Keys, messageMember, nameIndexMember } from '../keys.js';
import { scripts } from '../scripts.js';
import { isId } from '../validate.js';
import { recountUnreadStreamed } from './cluster-recount.js';
import {
  type SendLimitArgs,
  type SendReply,
  type StepRunner,
  sendReplyOf,
  sendScriptArgs,
  type Writes,
} from './writes.js';

/** How many conversation entries markConversationSeen reads at a time. */
const WALK_PAGE = 100;

/**
 * send-on-one-node-1.lua's reply when a key is not on its node now, and what a
 * redirection of it counts as: nothing was written.
 */
const NOT_ON_ONE_NODE = -9;

export class ClusterWrites implements Writes {
  /** `client` sends each command to the master serving its key (redis/slot-router.ts). */
  constructor(
    private readonly client: RoutedCommands,
    private readonly keys: Keys,
  ) {}

  /**
   * 1. the user hash (nothing names the new id yet: invisible); 2. the name claimed in the
   * directory slot, atomically, as on one Redis. If the name is taken, the hash goes again.
   */
  async createUser(name: string, foldedName: string, id: string): Promise<string | number> {
    const { client, keys } = this;
    const createdAt = (await client.run(scripts.storeUser, [keys.user(id)], [id, name])) as string;
    const reply = (await client.run(
      scripts.createUser,
      [keys.usernames, keys.foldedUsernames, keys.userIndex, keys.usernamesIndexed, keys.nameIndex],
      [name, foldedName, id, nameIndexMember(foldedName, name, id), createdAt],
    )) as string | number;
    if (typeof reply === 'number' && reply < 0) await client.del(keys.user(id));
    return reply;
  }

  /**
   * 1. the message hash (invisible: nothing indexes it), stamped with its node's time,
   * with, alongside, a check that the sender exists (users are never deleted, so it stays
   * true); 2. in the receiver's slot, after checking the receiver exists: the inbox entry
   * (now it is visible) at the hash's time, raised past the inbox's newest if need be,
   * unread count, receiver's recency and doorbell; 3. only if it was raised, the hash's
   * timestamp set to the inbox score; 4. the
   * conversation entry, at the end of the conversation; 5. the sender's recency, and (the
   * first time) the sender's channel told what they sent. Steps 3 to 5 go out together: three round
   * trips in all. Every step is "create if missing" or "raise to", so a retry completes
   * whatever a crash cut short, and stores nothing twice. A send refused for a missing
   * user takes back the hash it stored. With a send limit, the sender's token is taken
   * first, alone: a send past its bucket writes nothing at all (and a refusal that two
   * requests with the same id may not share must never take back a hash the other one
   * delivered).
   *
   * When one master serves all four slots (always on a cluster of one shard), the steps
   * run as one script there instead (send-on-one-node-1.lua): one round trip, all or
   * nothing, the same replies. It writes nothing when a slot turned out to be elsewhere
   * (a stale map, a slot migrating: a redirection is not followed), and the steps follow.
   */
  async sendMessage(
    id: string,
    sender: string,
    receiver: string,
    text: string,
    limit?: SendLimitArgs,
  ): Promise<SendReply> {
    const { client, keys } = this;
    const conversation = keys.conversation(sender, receiver);
    const message = keys.message(id);
    if (client.router.oneMaster([message, keys.user(sender), keys.user(receiver), conversation])) {
      const reply = (await client.runHere(
        scripts.sendOnOneNode,
        [message],
        [
          ...sendScriptArgs(keys, id, sender, receiver, text, limit),
          keys.user(sender),
          keys.conversations(sender),
          keys.userRateLimit('send', sender),
          conversation,
          keys.user(receiver),
          keys.inbox(receiver),
          keys.conversations(receiver),
          keys.unread(receiver),
          keys.unseen(receiver, sender),
        ],
        [NOT_ON_ONE_NODE],
      )) as [number, string?, string?];
      if (reply[0] !== NOT_ON_ONE_NODE) return sendReplyOf(reply);
    }
    // The sender exists, and their conversations (step 5) are a sorted set if anything;
    // with a send limit, it takes the sender's token first (the bucket is in their slot).
    const checkSender = () =>
      client.run(
        scripts.checkSender,
        [keys.user(sender), keys.conversations(sender), keys.userRateLimit('send', sender)],
        limit ? [...limit] : ['', ''],
      ) as Promise<number | [number, string, string?]>;
    const checked = limit ? await checkSender() : undefined;
    if (Array.isArray(checked) && checked[0] === Refusal.SendLimited)
      return { code: Refusal.SendLimited, timestamp: '', seen: false, waitMs: Number(checked[1]) };
    const [senderCheck, [stored, ...hash], conversationType] = await Promise.all([
      checked ?? checkSender(),
      client.run(scripts.storeMessage, [keys.message(id)], [id, sender, receiver, text]) as Promise<
        [number, string?, string?]
      >,
      // Step 4 writes it after the message is visible: a key of the wrong type there
      // would leave a send that fails after delivery at every retry. Checked first.
      client.type(conversation),
    ]);
    // Stored now: [timestamp]; stored before: [seen, timestamp].
    const [seen, stamped = ''] = stored === 1 ? [undefined, hash[0]] : hash;
    if (stored < 0) return { code: stored, timestamp: '', seen: false };
    if (senderCheck === 0) return this.#refuse(id, stored === 1, Refusal.FirstUserMissing);
    if (Array.isArray(senderCheck)) {
      await this.#refuse(id, stored === 1, 0);
      throw new BadDataError(senderCheck[1], `${senderCheck[2]}; nothing was stored`);
    }
    if (conversationType !== 'none' && conversationType !== 'zset') {
      await this.#refuse(id, stored === 1, 0);
      throw new BadDataError(
        conversation,
        `is a ${conversationType}, not a sorted set; nothing was stored`,
      );
    }
    const [delivered, timestamp = '0', found] = (await client.run(
      scripts.deliverMessage,
      [
        keys.user(receiver),
        keys.inbox(receiver),
        keys.conversations(receiver),
        keys.unread(receiver),
        keys.unseen(receiver, sender),
      ],
      [id, sender, receiver, text, keys.inboxChannel(receiver), stamped],
    )) as [number, string?, string?];
    if (delivered === Refusal.BadData) {
      await this.#refuse(id, stored === 1, 0);
      throw new BadDataError(timestamp, `${found}; nothing was stored`);
    }
    if (delivered < 0) return this.#refuse(id, stored === 1, delivered);
    await Promise.all([
      // Only when the inbox entry's score is not the hash's time (raised past the newest).
      timestamp !== stamped && client.hSet(keys.message(id), 'timestamp', timestamp),
      // At the inbox score, raised past the conversation's newest entry if need be: a
      // reader paging the conversation forwards must never find it behind its cursor.
      client.run(scripts.addToConversation, [conversation], [messageMember(id), timestamp]),
      // The sender's recency, and the first time, their channel told what they sent.
      client.run(
        scripts.noteSent,
        [keys.conversations(sender)],
        [receiver, timestamp, delivered === 1 ? keys.inboxChannel(sender) : '', id, sender, text],
      ),
    ]);
    return { code: stored, timestamp, seen: seen === 'True' };
  }

  /** A send refused after step 1: takes back the hash if this send stored it. */
  async #refuse(id: string, storedNow: boolean, code: number): Promise<SendReply> {
    if (storedNow) await this.client.del(this.keys.message(id));
    return { code, timestamp: '', seen: false };
  }

  async addContact(userId: string, contactId: string): Promise<number> {
    const { client, keys } = this;
    const missing = await this.#missingUser(userId, contactId);
    if (missing < 0) return missing;
    return (await client.run(
      scripts.addContact,
      [keys.user(userId), keys.contacts(userId)],
      [contactId],
    )) as number;
  }

  /**
   * 1. which of the messages are in the user's inbox (a hash whose send stopped after
   * step 1 was never counted unread); 2. each flipped to seen in its own slot, atomically;
   * 3. in the user's slot, the messages taken out of the sets of unseen messages and the
   * counters set to what is left (forget-unread-n). Step 3 takes a message out once
   * however often it runs, and it runs for every message found seen, flipped now or
   * before: so a call cut short after its flips is finished by its retry (or by any
   * later mark of those messages), and two callers count a message once.
   */
  async markSeen(userId: string, messageIds: string[]): Promise<number> {
    const { client, keys } = this;
    const scores = await client.zmScore(keys.inbox(userId), messageIds.map(messageMember));
    const received = messageIds.filter((_, i) => scores[i] !== null);
    const flips = (await Promise.all(
      received.map((id) => client.run(scripts.flipSeen, [keys.message(id)], [userId])),
    )) as [number, string?][];
    const seenBySender = new Map<string, string[]>();
    flips.forEach(([code, sender], i) => {
      if (code >= 0 && sender && isId(sender)) {
        const members = seenBySender.get(sender) ?? [];
        members.push(messageMember(received[i] as string));
        seenBySender.set(sender, members);
      }
    });
    return this.#forget(userId, seenBySender);
  }

  /**
   * Walks the set of the other user's messages that the user has not seen (not the whole
   * conversation: its cost is what is unseen), a page at a time: flips each to seen in
   * its slot, then takes the page out of the set and sets the counter to what is left.
   * A message on its way (delivered, not yet in the conversation) is in the set, so it is
   * marked too, and a message a cut-short mark flipped but did not take out is taken out
   * now. Setting the counter from the set repairs a counter that drifted, even when the
   * set is empty.
   */
  async markConversationSeen(userId: string, otherId: string, step: StepRunner): Promise<number> {
    const unseen = this.keys.unseen(userId, otherId);
    // Bounded: what was unseen at the start, and a page of what arrives meanwhile.
    const pages = Math.ceil((await step(() => this.client.zCard(unseen))) / WALK_PAGE) + 1;
    let marked = 0;
    for (let page = 0; page < pages; page++) {
      const [count, members] = await step(() => this.#markPage(userId, otherId, unseen));
      marked += count;
      if (members < WALK_PAGE) break;
    }
    return marked;
  }

  /** One page of markConversationSeen: how many it marked, and how many members it read. */
  async #markPage(userId: string, otherId: string, unseen: string): Promise<[number, number]> {
    const { client, keys } = this;
    const members = await client.zRange(unseen, 0, WALK_PAGE - 1);
    const flips = (await Promise.all(
      members.map((member) =>
        client.run(scripts.flipSeen, [keys.messageOfMember(member)], [userId]),
      ),
    )) as [number][];
    const usable = members.filter((_, i) => (flips[i]?.[0] ?? -1) >= 0);
    const marked = await this.#forget(userId, new Map([[otherId, usable]]));
    // A member whose hash is gone or not a hash is taken out too, uncounted: it cannot
    // be shown, so it must not count as unread.
    const unusable = members.filter((_, i) => (flips[i]?.[0] ?? -1) < 0);
    if (unusable.length > 0) await this.#forget(userId, new Map([[otherId, unusable]]));
    return [marked, members.length];
  }

  /** Streamed, a bounded step at a time: ./cluster-recount.ts. */
  recountUnread(userId: string, step: StepRunner): Promise<void> {
    return recountUnreadStreamed(this.client.cluster, this.keys, userId, step);
  }

  /**
   * A send cut short after its delivery may have left the hash with step 1's timestamp,
   * when the inbox raised its entry past a newer one (docs/schema.md): the inbox score is
   * the message's time. The conversation step
   * appends, as the send would have.
   */
  indexReceived(
    userId: string,
    sender: string,
    entry: { member: string; score: number; timestamp: string | null },
  ): Promise<unknown> {
    const { client, keys } = this;
    const stored = scoreTimestamp(entry.score);
    return Promise.all([
      stored !== entry.timestamp &&
        client.hSet(keys.messageOfMember(entry.member), 'timestamp', stored),
      client.run(
        scripts.addToConversation,
        [keys.conversation(userId, sender)],
        [entry.member, stored],
      ),
    ]);
  }

  /**
   * Which of two users does not exist, else 0. Users are never deleted, so what this
   * finds stays true for the steps after it.
   */
  async #missingUser(first: string, second: string): Promise<Refusal | 0> {
    const [firstExists, secondExists] = await Promise.all([
      this.client.exists(this.keys.user(first)),
      this.client.exists(this.keys.user(second)),
    ]);
    if (firstExists === 0) return Refusal.FirstUserMissing;
    return secondExists === 0 ? Refusal.SecondUserMissing : 0;
  }

  /**
   * Takes seen messages (members, by sender) out of the user's sets of unseen messages
   * and sets each sender's counter to what is left; returns how many were in the sets.
   */
  async #forget(userId: string, seenBySender: Map<string, string[]>): Promise<number> {
    if (seenBySender.size === 0) return 0;
    const senders = [...seenBySender.keys()];
    return Number(
      await this.client.run(
        scripts.forgetUnread,
        [this.keys.unread(userId), ...senders.map((sender) => this.keys.unseen(userId, sender))],
        senders.flatMap((sender) => {
          const members = seenBySender.get(sender) ?? [];
          return [sender, String(members.length), ...members];
        }),
      ),
    );
  }
}

/** A score (Unix seconds) as the messenger stores timestamps: six decimals, exact to the µs. */
function scoreTimestamp(score: number): string {
  const micros = Math.round(score * 1_000_000);
  return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
}
