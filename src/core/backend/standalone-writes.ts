/**
 * The writes whose keys live together on one Redis: each is one Lua script, so it is
 * atomic. The same writes on a Redis Cluster, where their keys span hash slots, are in
 * ./cluster-writes.ts; the messenger uses one or the other and cannot tell them apart.
 * @module
 */

import { MessengerError } from '../../errors.js';
import type { RedisClient } from '../../redis/connect.js';
import { type Keys, nameIndexMember } from '../keys.js';
import { scripts } from '../scripts.js';
import { recountUnreadInSteps } from './standalone-recount.js';
import {
  type SendLimitArgs,
  type SendReply,
  type StepRunner,
  sendReplyOf,
  sendScriptArgs,
  type Writes,
} from './writes.js';

/**
 * How many conversation entries one step of markConversationSeen reads: 1,000 took up to
 * 10 ms of Redis's time, a quarter of it stays well under the 10 ms goal
 * (docs/performance.md); the whole of 200,000 in one script was 500 ms.
 */
const WALK_STEP = 250;

export class StandaloneWrites implements Writes {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
  ) {}

  async createUser(name: string, foldedName: string, id: string): Promise<string | number> {
    const keys = this.keys;
    return (await scripts.createUser.run(
      this.client,
      [
        keys.usernames,
        keys.foldedUsernames,
        keys.userIndex,
        keys.usernamesIndexed,
        keys.nameIndex,
        keys.user(id),
      ],
      [name, foldedName, id, nameIndexMember(foldedName, name, id)],
    )) as string | number;
  }

  async sendMessage(
    id: string,
    sender: string,
    receiver: string,
    text: string,
    limit?: SendLimitArgs,
  ): Promise<SendReply> {
    const keys = this.keys;
    const reply = (await scripts.sendMessage.run(
      this.client,
      [
        keys.user(sender),
        keys.user(receiver),
        keys.message(id, receiver),
        keys.inbox(receiver),
        keys.conversation(sender, receiver),
        keys.conversations(sender),
        keys.conversations(receiver),
        keys.unread(receiver),
        keys.userRateLimit('send', sender),
      ],
      sendScriptArgs(keys, id, sender, receiver, text, limit),
    )) as [number, string?, string?];
    return sendReplyOf(reply);
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
        [keys.unread(userId), ...messageIds.map((m) => keys.message(m, userId))],
        [userId],
      ),
    );
  }

  /**
   * The walk in steps of at most WALK_STEP entries, each one script, so that one call
   * never holds Redis for long (a script blocks every other client while it runs). What
   * the first step saw (the counter, the newest entry) goes to every later one, so that a
   * walk that reaches the oldest entry can correct a counter that was too high.
   */
  async markConversationSeen(userId: string, otherId: string, step: StepRunner): Promise<number> {
    const keys = this.keys;
    let marked = 0;
    let from = '';
    let mode = '';
    let last = '';
    let counter = '';
    let newest = '';
    // Bounded by the conversation's length: each step moves at least one entry down.
    for (;;) {
      const [count, next, after, lastRead, moved, startCounter, startNewest] = (await step(() =>
        scripts.markConversationSeen.run(
          this.client,
          [keys.conversation(userId, otherId), keys.unread(userId)],
          [
            otherId,
            keys.prefix,
            from,
            String(WALK_STEP),
            mode,
            last,
            counter,
            newest,
            String(marked),
          ],
        ),
      )) as [number, number, number, string, number, string, string];
      if (from === '') {
        counter = startCounter === '' ? 'none' : startCounter;
        newest = startNewest;
      }
      marked += count;
      if (next === -1) return marked;
      if (next === -2) mode = 'all';
      // Ranks moved (an entry below removed or inserted), or the counter is unusable: the
      // walk may not have seen every message, so it corrects nothing.
      if (moved === 1 || mode === 'all') counter = 'none';
      const rank = next === -2 ? after : next;
      if (from !== '' && rank >= Number(from)) {
        throw new MessengerError('markConversationSeen stopped moving through the conversation');
      }
      from = String(rank);
      last = lastRead;
    }
  }

  recountUnread(userId: string, step: StepRunner): Promise<void> {
    return recountUnreadInSteps(this.client, this.keys, userId, step);
  }

  indexReceived(
    userId: string,
    sender: string,
    entry: { member: string; score: number },
  ): Promise<unknown> {
    return this.client.zAdd(
      this.keys.conversation(userId, sender),
      { score: entry.score, value: entry.member },
      { condition: 'NX' },
    );
  }
}
