/**
 * The messenger's multi-key writes, as each backend stores them: one Lua script each on
 * one Redis (./standalone-writes.ts), ordered single-slot steps on a Redis Cluster
 * (./cluster-writes.ts). The messenger calls them the same way on both.
 * @module
 */
import { BadDataError, Refusal } from '../../errors.js';
import type { Keys } from '../keys.js';

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
   * With `limit`, first takes a token from the sender's send bucket, and writes nothing
   * when there is none (code -5). A send of several requests runs each through `step`, so
   * that a request Redis asks to be sent again (TRYAGAIN) does not take a second token.
   */
  sendMessage(
    id: string,
    sender: string,
    receiver: string,
    text: string,
    limit?: SendLimitArgs,
    step?: StepRunner,
  ): Promise<SendReply>;
  /** Adds a contact: 1 added, 0 already one; -1 no such user, -2 no such contact. */
  addContact(userId: string, contactId: string): Promise<number>;
  /** Marks messages the user received seen; how many were counted unread until now. */
  markSeen(userId: string, messageIds: string[]): Promise<number>;
  /**
   * Marks seen every message `otherId` sent to `userId`; how many were counted unread
   * until now. A walk of bounded steps, each run through `step` (the caller's deadline is
   * per step: a long conversation must not fail for its length).
   */
  markConversationSeen(userId: string, otherId: string, step: StepRunner): Promise<number>;
  /**
   * Recounts a user's unread counters from the `seen` flags of their inbox (for reindex),
   * in bounded steps, each run through `step` (a deadline each).
   */
  recountUnread(userId: string, step: StepRunner): Promise<void>;
  /**
   * Puts a message of `userId`'s inbox (member, score, the hash's timestamp) into the
   * conversation with its sender, if it is not there yet (for reindex); on a cluster this
   * also finishes a send cut short after its delivery.
   */
  indexReceived(
    userId: string,
    sender: string,
    entry: { member: string; score: number; timestamp: string | null },
  ): Promise<unknown>;
}

/**
 * ARGV[1] to ARGV[8] of the send script on one Redis (send-message-9.lua):
 * the message, both users' channels, and the send limit ('' and '' for none).
 */
export function sendScriptArgs(
  keys: Keys,
  id: string,
  sender: string,
  receiver: string,
  text: string,
  limit: SendLimitArgs | undefined,
): string[] {
  return [
    id,
    sender,
    receiver,
    text,
    keys.inboxChannel(receiver),
    keys.inboxChannel(sender),
    ...(limit ?? ['', '']),
  ];
}

/**
 * What a send script replied (send-message-9.lua; on a cluster send-on-one-node-2.lua,
 * deliver-message-7.lua, and check-sender-5.lua's refusals): {code, timestamp, seen},
 * {-4, key, problem} (thrown as BadDataError: nothing was written), or {-5, ms}.
 */
export function sendReplyOf([code, second = '', third]: [number, string?, string?]): SendReply {
  if (code === Refusal.BadData) throw new BadDataError(second, `${third}; nothing was stored`);
  if (code === Refusal.SendLimited)
    return { code, timestamp: '', seen: false, waitMs: Number(second) };
  return { code, timestamp: second, seen: third === 'True' };
}

/** Runs one step of a longer write against Redis, with a deadline of its own. */
export type StepRunner = <T>(operation: () => Promise<T>) => Promise<T>;

/** A send bucket's numbers as the scripts take them (bucketArgs): burst, milliseconds per token. */
export type SendLimitArgs = readonly [burst: string, every: string];

/** What a send did. */
export interface SendReply {
  /** 1 stored now, 0 stored before (a retry); -1 no sender, -2 no receiver, -3 the id is another message's, -5 the bucket is empty. */
  code: number;
  /** With -5: the milliseconds until the bucket has a token. */
  waitMs?: number;
  /** The timestamp stored ("seconds.micros"), when stored now or before. */
  timestamp: string;
  /** Whether the receiver has seen it: false when stored now; as stored, on a retry. */
  seen: boolean;
}
