/**
 * The messenger's multi-key writes on a Redis Cluster. A script can only touch keys of
 * one hash slot, so each write is a sequence of single-slot steps, ordered so that a
 * crash between two steps leaves nothing visible that is wrong, and idempotent so that
 * running the write again (a send retried with its message id) completes it.
 * docs/schema.md lists the steps of each write.
 * @module
 */

import { Refusal } from '../../errors.js';
import type { RoutedCommands } from '../../redis/routed-commands.js';
import { type Keys, nameIndexMember } from '../keys.js';
import { timestampOfScore } from '../records.js';
import { scripts } from '../scripts.js';
import { isId } from '../validate.js';
import { recountUnreadStreamed } from './cluster-recount.js';
import {
  type SendLimitArgs,
  type SendReply,
  type StepRunner,
  sendReplyOf,
  type Writes,
} from './writes.js';

/** How many conversation entries markConversationSeen reads at a time. */
const WALK_PAGE = 100;

/**
 * send-on-one-node-2.lua's reply when a key is not on its node now, and what a
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
   * A message lives in its receiver's slot (`message:{<receiver>}:<id>`), and each user
   * has their own copy of the conversation, so a send touches two slots, in three steps
   * (docs/schema.md): 1. in the sender's slot, check-sender-5: with a send limit the token
   * first, then the sender exists, no message of the conversation has this id, and the
   * keys step 3 writes hold what they should; 2. in the receiver's, deliver-message-7: the
   * hash and everything that makes it visible and counted, all at once; 3. in the
   * sender's again, note-sent-2: the sender's copy, their recency and, the first time,
   * their channel told what they sent. Nothing is written before step 2, so a refusal
   * leaves nothing behind; step 2 is all or nothing and step 3 changes nothing when run
   * again, so a retry with the same id completes a send cut short, and stores nothing twice.
   *
   * When one master serves both users' slots (always on a cluster of one shard), the
   * steps run as one script there instead (send-on-one-node-2.lua): one round trip, all or
   * nothing, the same replies. It writes nothing when a slot turned out to be elsewhere
   * (a stale map, a slot migrating: a redirection is not followed), and the steps follow.
   */
  async sendMessage(
    id: string,
    sender: string,
    receiver: string,
    text: string,
    limit?: SendLimitArgs,
    step: StepRunner = (request) => request(),
  ): Promise<SendReply> {
    const { client, keys } = this;
    const member = keys.messageMember(id, receiver);
    const senderKeys = {
      user: keys.user(sender),
      conversations: keys.conversations(sender),
      bucket: keys.userRateLimit('send', sender),
      copy: keys.conversation(sender, receiver),
      claimed: keys.message(id, sender),
    };
    const receiverKeys = [
      keys.user(receiver),
      keys.inbox(receiver),
      keys.conversations(receiver),
      keys.unread(receiver),
      keys.unseen(receiver, sender),
      keys.message(id, receiver),
      keys.conversation(receiver, sender),
    ];
    const limitArgs = limit ? [...limit] : ['', ''];
    if (client.router.oneMaster([senderKeys.user, keys.user(receiver)])) {
      const reply = (await client.runHere(
        scripts.sendOnOneNode,
        [senderKeys.user],
        [
          ...[id, sender, receiver, text, keys.inboxChannel(receiver), keys.inboxChannel(sender)],
          ...limitArgs,
          member,
          senderKeys.conversations,
          senderKeys.bucket,
          senderKeys.copy,
          senderKeys.claimed,
          ...receiverKeys,
        ],
        [NOT_ON_ONE_NODE],
      )) as [number, string?, string?];
      if (reply[0] !== NOT_ON_ONE_NODE) return sendReplyOf(reply);
    }
    // Each step alone runs again after TRYAGAIN (a slot migrating): not the whole send,
    // which would take a second token in step 1, and leave the sender's channel untold
    // when step 3 ran again after step 2 had delivered.
    const checked = (await step(() =>
      client.run(
        scripts.checkSender,
        [
          senderKeys.user,
          senderKeys.conversations,
          senderKeys.bucket,
          senderKeys.copy,
          senderKeys.claimed,
        ],
        [...limitArgs, sender, receiver, text],
      ),
    )) as [number, string?, string?];
    if (checked[0] !== 1) return sendReplyOf(checked);
    const delivered = (await step(() =>
      client.run(scripts.deliverMessage, receiverKeys, [
        ...[id, sender, receiver, text, keys.inboxChannel(receiver), member],
      ]),
    )) as [number, string?, string?];
    const reply = sendReplyOf(delivered);
    if (reply.code < 0) return reply;
    await step(() =>
      client.run(
        scripts.noteSent,
        [senderKeys.conversations, senderKeys.copy],
        [
          ...[id, sender, receiver, text, reply.code === 1 ? keys.inboxChannel(sender) : ''],
          ...[member, reply.timestamp],
        ],
      ),
    );
    return reply;
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
    const scores = await client.zmScore(
      keys.inbox(userId),
      messageIds.map((id) => keys.messageMember(id, userId)),
    );
    const received = messageIds.filter((_, i) => scores[i] !== null);
    const flips = (await Promise.all(
      received.map((id) => client.run(scripts.flipSeen, [keys.message(id, userId)], [userId])),
    )) as [number, string?][];
    const seenBySender = new Map<string, string[]>();
    flips.forEach(([code, sender], i) => {
      if (code >= 0 && sender && isId(sender)) {
        const members = seenBySender.get(sender) ?? [];
        members.push(keys.messageMember(received[i] as string, userId));
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
   * Both users' copies of the conversation, each appended to as the send would have (a
   * send cut short after its delivery left the sender's without it). The hash's timestamp
   * is set to the inbox score where they differ: a send stores both as one, but layout 1
   * (before `messenger migrate`) could leave them apart.
   */
  indexReceived(
    userId: string,
    sender: string,
    entry: { member: string; score: number; timestamp: string | null },
  ): Promise<unknown> {
    const { client, keys } = this;
    const stored = timestampOfScore(entry.score);
    const append = (copy: string) =>
      client.run(scripts.addToConversation, [copy], [entry.member, stored]);
    return Promise.all([
      stored !== entry.timestamp &&
        client.hSet(keys.messageOfMember(entry.member), 'timestamp', stored),
      append(keys.conversation(userId, sender)),
      append(keys.conversation(sender, userId)),
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
