/**
 * The writes whose keys live together on one Redis: each is one Lua script, so it is
 * atomic. The same writes on a Redis Cluster, where their keys span hash slots, are in
 * ./cluster-writes.ts; RedisMessenger uses one or the other and cannot tell them apart.
 * @module
 */
import type { RedisClient } from '../redis/connect.js';
import { BadDataError, MessengerError } from './errors.js';
import type { Keys } from './keys.js';
import { scripts } from './scripts.js';

/**
 * How the messenger's multi-key writes are stored. Replies are the scripts' codes:
 * negative numbers name what was missing or wrong (each method says which).
 */
export interface Writes {
  /** Creates a user: created_at; -1 the name is taken; -2 names of the original program are not indexed yet. */
  createUser(name: string, foldedName: string, id: string): Promise<string | number>;
  /**
   * Sends a message, ringing the receiver's doorbell and the sender's channel. Throws
   * BadDataError, having written nothing, when a key it would write holds another type.
   */
  sendMessage(id: string, sender: string, receiver: string, text: string): Promise<SendReply>;
  /** Adds a contact: 1 added, 0 already one; -1 no such user, -2 no such contact. */
  addContact(userId: string, contactId: string): Promise<number>;
  /** Marks messages the user received seen; how many were counted unread until now. */
  markSeen(userId: string, messageIds: string[]): Promise<number>;
  /** Marks seen every message `otherId` sent to `userId`; how many were counted unread until now. */
  markConversationSeen(userId: string, otherId: string): Promise<number>;
  /** Recounts a user's unread counters from the `seen` flags of their inbox (for reindex). */
  recountUnread(userId: string): Promise<void>;
}

/** What a send did. */
export interface SendReply {
  /** 1 stored now, 0 stored before (a retry); -1 no sender, -2 no receiver, -3 the id is another message's. */
  code: number;
  /** The timestamp stored ("seconds.micros"), when stored now or before. */
  timestamp: string;
  /** Whether the receiver has seen it: false when stored now; as stored, on a retry. */
  seen: boolean;
}

/**
 * How many conversation entries one step of markConversationSeen reads: about 2.5 ms of
 * Redis's time (docs/performance.md), where the whole of 200,000 was one 500 ms script.
 */
const WALK_STEP = 1000;

export class StandaloneWrites implements Writes {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
  ) {}

  async createUser(name: string, foldedName: string, id: string): Promise<string | number> {
    const keys = this.keys;
    return (await scripts.createUser.run(
      this.client,
      [keys.usernames, keys.foldedUsernames, keys.userIndex, keys.usernamesIndexed, keys.user(id)],
      [name, foldedName, id],
    )) as string | number;
  }

  async sendMessage(
    id: string,
    sender: string,
    receiver: string,
    text: string,
  ): Promise<SendReply> {
    const keys = this.keys;
    const [code, second = '', third] = (await scripts.sendMessage.run(
      this.client,
      [
        keys.user(sender),
        keys.user(receiver),
        keys.message(id),
        keys.inbox(receiver),
        keys.conversation(sender, receiver),
        keys.conversations(sender),
        keys.conversations(receiver),
        keys.unread(receiver),
      ],
      [id, sender, receiver, text, keys.inboxChannel(receiver), keys.inboxChannel(sender)],
    )) as [number, string?, string?];
    if (code === -4) {
      throw new BadDataError(second, `${third}; nothing was stored`);
    }
    return { code, timestamp: second, seen: third === 'True' };
  }

  async addContact(userId: string, contactId: string): Promise<number> {
    const keys = this.keys;
    return (await scripts.addContact.run(
      this.client,
      [keys.user(userId), keys.contacts(userId), keys.user(contactId)],
      [contactId],
    )) as number;
  }

  async markSeen(userId: string, messageIds: string[]): Promise<number> {
    const keys = this.keys;
    return Number(
      await scripts.markSeen.run(
        this.client,
        [keys.unread(userId), ...messageIds.map((m) => keys.message(m))],
        [userId],
      ),
    );
  }

  /**
   * The walk in steps of at most WALK_STEP entries, each one script, so that one call
   * never holds Redis for long (a script blocks every other client while it runs).
   */
  async markConversationSeen(userId: string, otherId: string): Promise<number> {
    const keys = this.keys;
    let marked = 0;
    let from = '';
    let mode = '';
    // Bounded by the conversation's length: each step moves at least one entry down.
    for (;;) {
      const [count, next, after] = (await scripts.markConversationSeen.run(
        this.client,
        [keys.conversation(userId, otherId), keys.unread(userId)],
        [otherId, keys.prefix, from, String(WALK_STEP), mode],
      )) as [number, number, number?];
      marked += count;
      if (next === -1) return marked;
      if (next === -2) mode = 'all';
      const rank = next === -2 ? (after ?? -1) : next;
      if (from !== '' && rank >= Number(from)) {
        throw new MessengerError('markConversationSeen stopped moving through the conversation');
      }
      from = String(rank);
    }
  }

  async recountUnread(userId: string): Promise<void> {
    const keys = this.keys;
    await scripts.countUnread.run(
      this.client,
      [keys.inbox(userId), keys.unread(userId)],
      [keys.prefix],
    );
  }
}
