/**
 * Live delivery of a user's inbox. Pub/sub is the doorbell, the inbox sorted set is the
 * mailbox: a subscription keeps a cursor (the last message it delivered), and whenever
 * it may have missed something (at start, after a reconnect, on a doorbell that does not
 * follow its cursor) it reads everything after the cursor before going on. Messages are
 * delivered in inbox order, each once.
 * @module
 */
import type { RedisConnection } from '../redis/connect.js';
import type { Doorbell, DoorbellEvents } from './doorbell.js';
import { CursorNotFoundError } from './errors.js';
import { messageIdOfMember, messageMember } from './keys.js';
import type { Message } from './types.js';

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

/** Where a subscription is: the last message delivered, and its timestamp as stored. */
export interface Cursor {
  id: string;
  timestamp: string;
}

/** A page after a cursor, each message with its timestamp as stored. */
export interface StampedPage {
  items: { message: Message; timestamp: string }[];
  hasNewer: boolean;
}

export interface SubscriptionParts {
  client: RedisConnection;
  /** Connects the inbox's doorbell (not yet listening), reporting to `events`. */
  openDoorbell: (events: DoorbellEvents) => Promise<Doorbell>;
  inbox: string;
  handler: (message: Message) => void | Promise<void>;
  options: SubscribeOptions;
  /** A page of the inbox after the cursor (from the first message when null). */
  readAfter: (cursor: Cursor | null, limit: number) => Promise<StampedPage>;
  /** Runs a Redis operation with the messenger's deadline and error translation. */
  run: <T>(operation: () => Promise<T>) => Promise<T>;
  onClose: (subscription: InboxSubscription) => void;
}

const CATCH_UP_PAGE = 200;
/** After a failed catch-up: try again after 100 ms, doubling up to 2 s. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2000;

/** The doorbell the send script publishes, checked field by field: it comes off the network. */
function parseDoorbell(
  raw: string,
): { message: Message; timestamp: string; previous: string } | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const fields = value as Record<string, unknown>;
  const names = ['id', 'sender_id', 'receiver_id', 'message', 'timestamp', 'previous'] as const;
  if (!names.every((name) => typeof fields[name] === 'string')) return null;
  const bell = fields as Record<(typeof names)[number], string>;
  return {
    message: {
      id: bell.id,
      senderId: bell.sender_id,
      receiverId: bell.receiver_id,
      text: bell.message,
      sentAt: new Date(Number(bell.timestamp) * 1000),
      seen: false,
    },
    timestamp: bell.timestamp,
    previous: bell.previous,
  };
}

/** A running subscription to a user's inbox. Stop it with `close()`. */
export class InboxSubscription {
  readonly #parts: SubscriptionParts;
  #doorbell: Doorbell | undefined;
  /** The last message delivered, or null while nothing in the inbox precedes the next one. */
  #cursor: Cursor | null = null;
  /** Every delivery and catch-up runs on this chain, one after another, in order. */
  #chain: Promise<void> = Promise.resolve();
  /** True while a task of the chain runs: close() from inside a handler must not wait for it. */
  #inTask = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay = RETRY_FIRST_MS;
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
    return this.#cursor?.id ?? null;
  }

  /** Stops delivery and closes the subscription's connection. Safe to call twice, and from a handler. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    if (this.#doorbell) await this.#doorbell.close();
    if (!this.#inTask) await this.#chain;
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
      this.#cursor = { id: after, timestamp: String(score) };
    } else {
      const [newest] = await run(() => client.zRangeWithScores(inbox, -1, -1));
      this.#cursor = newest
        ? { id: messageIdOfMember(newest.value), timestamp: String(newest.score) }
        : null;
    }
    const doorbell = await this.#parts.openDoorbell({
      ring: (raw) => this.#enqueue(() => this.#ring(raw)),
      // The doorbell listens again before it reports 'ready', so a catch-up started here
      // overlaps the live feed instead of leaving a gap before it.
      ready: () => this.#enqueue(() => this.#catchUp()),
      lost: () => this.#lostConnection(),
    });
    this.#doorbell = doorbell;
    await run(() => doorbell.listen());
    this.#enqueue(() => this.#catchUp());
    await this.#chain;
  }

  #enqueue(task: () => Promise<void>): void {
    this.#chain = this.#chain
      .then(async () => {
        if (this.#closed) return;
        this.#inTask = true;
        try {
          await task();
        } finally {
          this.#inTask = false;
        }
      })
      // A failed task must not stop the ones after it.
      .catch((error: unknown) => this.#report(error));
  }

  #report(error: unknown): void {
    try {
      this.#parts.options.onError?.(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // The caller's error handler failed; there is no one left to tell.
    }
  }

  #setConnected(connected: boolean): void {
    if (this.#connected === connected || this.#closed) return;
    this.#connected = connected;
    try {
      this.#parts.options.onConnectionChange?.(connected);
    } catch (error) {
      this.#report(error);
    }
  }

  #lostConnection(): void {
    this.#setConnected(false);
  }

  async #ring(raw: string): Promise<void> {
    const doorbell = parseDoorbell(raw);
    const follows =
      doorbell !== null &&
      doorbell.previous === (this.#cursor === null ? '' : messageMember(this.#cursor.id));
    // Otherwise something was missed, or it was delivered already: the inbox says which.
    if (!doorbell || !follows) return this.#catchUp();
    await this.#deliver(doorbell.message, doorbell.timestamp);
  }

  /** Delivers everything after the cursor. On failure, tries again a little later. */
  async #catchUp(): Promise<void> {
    try {
      for (;;) {
        const page = await this.#parts.readAfter(this.#cursor, CATCH_UP_PAGE);
        for (const { message, timestamp } of page.items) {
          if (this.#closed) return;
          await this.#deliver(message, timestamp);
        }
        // An empty page can only mean entries without a message hash (left by the
        // original program's two-step writes); stop rather than read it again forever.
        if (!page.hasNewer || page.items.length === 0) break;
      }
    } catch (error) {
      if (this.#closed) return;
      this.#report(error);
      clearTimeout(this.#retryTimer);
      this.#retryTimer = setTimeout(() => this.#enqueue(() => this.#catchUp()), this.#retryDelay);
      this.#retryDelay = Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
      return;
    }
    this.#retryDelay = RETRY_FIRST_MS;
    if (this.#doorbell?.isReady) this.#setConnected(true);
  }

  async #deliver(message: Message, timestamp: string): Promise<void> {
    this.#cursor = { id: message.id, timestamp };
    try {
      await this.#parts.handler(message);
    } catch (error) {
      this.#report(error);
    }
  }
}
