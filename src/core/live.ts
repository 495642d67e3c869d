/**
 * Live delivery of a user's inbox. Pub/sub is the doorbell, the inbox sorted set is the
 * mailbox: a subscription keeps a cursor (the last message it delivered), and whenever
 * it may have missed something (at start, after a reconnect, on a doorbell that does not
 * follow its cursor) it reads everything after the cursor before going on. Messages are
 * delivered in inbox order, each once.
 * @module
 */

import type { RedisClient } from '../redis/connect.js';
import { CursorNotFoundError } from './errors.js';
import { messageIdOfMember, messageMember } from './keys.js';
import type { Message, MessagePage } from './types.js';

export interface SubscribeOptions {
  /**
   * Deliver first every message received after this one (a message id), then go on live.
   * @defaultValue none: only messages that arrive from now on
   */
  after?: string;
  /** Errors the subscription recovers from by itself: a lost connection, a handler that threw. */
  onError?: (error: Error) => void;
  /** Called with false when the connection to Redis is lost, and with true once it is back and caught up. */
  onConnectionChange?: (connected: boolean) => void;
}

/** What the send script publishes: the message, and the inbox entry it was stored after. */
interface Doorbell {
  id: string;
  sender_id: string;
  receiver_id: string;
  message: string;
  timestamp: string;
  /** The member that was newest in the inbox before this message ('' if none). */
  previous: string;
}

export interface SubscriptionParts {
  client: RedisClient;
  openSubscriber: () => Promise<RedisClient>;
  inbox: string;
  channel: string;
  handler: (message: Message) => void | Promise<void>;
  options: SubscribeOptions;
  /** A page of the inbox after a message id (from the first message when null). */
  readAfter: (cursor: string | null, limit: number) => Promise<MessagePage>;
  /** Runs a Redis operation with the messenger's deadline and error translation. */
  run: <T>(operation: () => Promise<T>) => Promise<T>;
  onClose: (subscription: InboxSubscription) => void;
}

const CATCH_UP_PAGE = 200;
const RETRY_AFTER_MS = 1000;

/** A running subscription to a user's inbox. Stop it with `close()`. */
export class InboxSubscription {
  readonly #parts: SubscriptionParts;
  #subscriber: RedisClient | undefined;
  /** The id of the last message delivered, or null while nothing in the inbox precedes the next one. */
  #cursor: string | null = null;
  /** Every delivery and catch-up runs on this chain, one after another, in order. */
  #chain: Promise<void> = Promise.resolve();
  #retryTimer: NodeJS.Timeout | undefined;
  #connected = true;
  #closed = false;

  private constructor(parts: SubscriptionParts) {
    this.#parts = parts;
  }

  static async start(parts: SubscriptionParts): Promise<InboxSubscription> {
    const subscription = new InboxSubscription(parts);
    try {
      await subscription.#begin();
    } catch (error) {
      await subscription.close();
      throw error;
    }
    return subscription;
  }

  /** The id of the last message delivered (null if none yet). Pass it as `after` to resume. */
  get cursor(): string | null {
    return this.#cursor;
  }

  /** Stops delivery and closes the subscription's connection. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const subscriber = this.#subscriber;
    if (subscriber?.isOpen) {
      try {
        await subscriber.close();
      } catch {
        subscriber.destroy();
      }
    }
    await this.#chain;
    this.#parts.onClose(this);
  }

  async #begin(): Promise<void> {
    const { client, inbox, options, run } = this.#parts;
    // The cursor is fixed before subscribing, and the catch-up runs after the subscription
    // is confirmed: a message stored in between is read by the catch-up, not lost.
    if (options.after !== undefined) {
      const after = options.after;
      const score = await run(() => client.zScore(inbox, messageMember(after)));
      if (score === null) throw new CursorNotFoundError(after);
      this.#cursor = after;
    } else {
      const [newest] = await run(() => client.zRange(inbox, -1, -1));
      this.#cursor = newest === undefined ? null : messageIdOfMember(newest);
    }
    const subscriber = await this.#parts.openSubscriber();
    this.#subscriber = subscriber;
    subscriber.on('error', () => this.#lostConnection());
    subscriber.on('reconnecting', () => this.#lostConnection());
    // node-redis subscribes again before it reports 'ready', so a catch-up started here
    // overlaps the live feed instead of leaving a gap before it.
    subscriber.on('ready', () => this.#enqueue(() => this.#catchUp()));
    await run(() =>
      subscriber.subscribe(this.#parts.channel, (raw) => this.#enqueue(() => this.#ring(raw))),
    );
    this.#enqueue(() => this.#catchUp());
    await this.#chain;
  }

  #enqueue(task: () => Promise<void>): void {
    this.#chain = this.#chain.then(() => (this.#closed ? undefined : task()));
  }

  #lostConnection(): void {
    if (!this.#connected || this.#closed) return;
    this.#connected = false;
    this.#parts.options.onConnectionChange?.(false);
  }

  async #ring(raw: string): Promise<void> {
    let doorbell: Doorbell;
    try {
      doorbell = JSON.parse(raw) as Doorbell;
    } catch {
      return this.#catchUp();
    }
    const follows =
      doorbell.previous === (this.#cursor === null ? '' : messageMember(this.#cursor));
    if (!follows) return this.#catchUp(); // missed something, or already delivered it
    await this.#deliver({
      id: doorbell.id,
      senderId: doorbell.sender_id,
      receiverId: doorbell.receiver_id,
      text: doorbell.message,
      sentAt: new Date(Number(doorbell.timestamp) * 1000),
      seen: false,
    });
  }

  /** Delivers everything after the cursor. On failure, tries again a little later. */
  async #catchUp(): Promise<void> {
    try {
      for (;;) {
        const page = await this.#parts.readAfter(this.#cursor, CATCH_UP_PAGE);
        for (const message of page.messages) {
          if (this.#closed) return;
          await this.#deliver(message);
        }
        // An empty page can only mean entries without a message hash (left by the
        // original program's two-step writes); stop rather than read it again forever.
        if (!page.hasNewer || page.messages.length === 0) break;
      }
    } catch (error) {
      if (this.#closed) return;
      this.#parts.options.onError?.(error as Error);
      clearTimeout(this.#retryTimer);
      this.#retryTimer = setTimeout(() => this.#enqueue(() => this.#catchUp()), RETRY_AFTER_MS);
      return;
    }
    if (!this.#connected && this.#subscriber?.isReady) {
      this.#connected = true;
      this.#parts.options.onConnectionChange?.(true);
    }
  }

  async #deliver(message: Message): Promise<void> {
    this.#cursor = message.id;
    try {
      await this.#parts.handler(message);
    } catch (error) {
      this.#parts.options.onError?.(error as Error);
    }
  }
}
