/**
 * Live delivery of a user's inbox. Pub/sub is the doorbell, the inbox sorted set is the
 * mailbox: a subscription keeps a cursor (the last message it delivered), and whenever
 * it may have missed something (at start, after a reconnect, on a doorbell that does not
 * follow its cursor) it reads everything after the cursor before going on. Messages are
 * delivered in inbox order, each once.
 * @module
 */

import { CursorNotFoundError, MessengerError } from '../errors.js';
import type { RedisConnection } from '../redis/connect.js';
import { mayHaveAdded } from '../redis/keyspace-events.js';
import type { ChannelListener, Listening } from '../redis/subscriber.js';
import { type Bell, parseBell, type SeenChange } from './doorbell.js';
import { messageIdOfMember } from './keys.js';
import { LATE_MEMORY, LateEntries } from './late-entries.js';
import type { StampedMessage, StampedMessagePage } from './pages.js';
import type { Message } from './types.js';
import type { PageRequest } from './validate.js';

export interface SubscribeOptions {
  /**
   * Deliver first every message received after this one (a message id), then go on live.
   * @defaultValue none: only messages that arrive from now on
   */
  after?: string;
  /**
   * Deliver first every message in the inbox, then go on live: how a subscription whose
   * cursor is null (it began on an empty inbox) resumes without missing what came since.
   * Not with `after`.
   */
  fromFirst?: boolean;
  /** Errors the subscription recovers from by itself: a lost connection, a handler that threw. */
  onError?: (error: Error) => void;
  /** Called with false when the connection to Redis is lost, and with true once it is back and caught up. */
  onConnectionChange?: (connected: boolean) => void;
  /**
   * Called with every message the user sends (from this or any other process or device),
   * as stored. Live only: what is sent while the connection is down (see
   * `onConnectionChange`), or while the handlers are more than a queue behind, is not
   * replayed; read the conversations again then.
   */
  onSent?: (message: Message) => void | Promise<void>;
  /** Called when the user marks messages seen (anywhere). Live only, as `onSent`. */
  onSeen?: (change: SeenChange) => void | Promise<void>;
  /** Called when one of the user's sessions ends (`accounts.endSession`), with its id. Live only. */
  onSessionEnded?: (sessionId: string) => void | Promise<void>;
  /**
   * Closes the subscription when aborted, even while `subscribe` is still delivering what
   * came after `after` (a client that went away must not have its whole inbox read).
   */
  signal?: AbortSignal;
}

/** Where a subscription is: the last message delivered, and its timestamp as stored. */
export interface Cursor {
  id: string;
  timestamp: string;
}

export interface SubscriptionParts {
  client: RedisConnection;
  /** Starts listening to the user's channel on the messenger's shared subscriber. */
  listen: (listener: ChannelListener) => Promise<Listening>;
  /**
   * Starts listening to Redis's keyspace notifications of the inbox, where they are on:
   * they tell of messages that programs which ring no doorbell (the original) store.
   * `message` gets the event's name (`zadd`, ...); those that may add a member wake it up.
   */
  listenForWrites?: (listener: ChannelListener) => Promise<Listening>;
  /**
   * Adds messages a catch-up found to their conversations before they are delivered
   * (what the original program stores has none); only where that cannot disturb a send.
   */
  indexFound?: (items: StampedMessage[]) => Promise<void>;
  /**
   * Given where entries can be stored behind the cursor (the original program's keys:
   * ./late-entries.ts): reads the messages these inbox members name, null for one that
   * cannot be read. After each catch-up the subscription then looks behind its cursor.
   */
  readLate?: (members: string[]) => Promise<(StampedMessage | null)[]>;
  inbox: string;
  /** The member a message of this inbox has in it (Keys.messageMember). */
  inboxMember: (messageId: string) => string;
  handler: (message: Message) => void | Promise<void>;
  options: SubscribeOptions;
  /** A page of the user's inbox (checking the user exists). */
  readPage: (request: PageRequest) => Promise<StampedMessagePage>;
  /** Runs a Redis operation with the messenger's deadline and error translation. */
  run: <T>(operation: () => Promise<T>) => Promise<T>;
  onClose: (subscription: InboxSubscription) => void;
}

const CATCH_UP_PAGE = 200;
/** After a failed catch-up: try again after 100 ms, doubling up to 2 s. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2000;
/**
 * How many doorbells may wait for a slow handler. Past it they are dropped and the
 * subscription reads the inbox again from its cursor once the handler is free: memory
 * stays bounded (a page of messages, and this many doorbells) however far behind it is.
 */
export const QUEUE_LIMIT = 256;

/**
 * What waits for the handler: a doorbell as published, a catch-up from the cursor, or a
 * wake-up (a keyspace notification: something was stored in the inbox, maybe with no
 * doorbell).
 */
type Task = { kind: 'ring'; raw: string } | { kind: 'catch-up' } | { kind: 'wake' };

/** A running subscription to a user's inbox. Stop it with `close()`. */
export class InboxSubscription {
  readonly #parts: SubscriptionParts;
  #listening: Listening | undefined;
  #listeningForWrites: Listening | undefined;
  /** The last message delivered, or null while nothing in the inbox precedes the next one. */
  #cursor: Cursor | null = null;
  /** What was delivered just behind the cursor, where entries can land there (readLate). */
  #late: LateEntries | undefined;
  /** A wake-up was left to the doorbell behind it: look behind the cursor after that one. */
  #lookBehindDue = false;
  /** What waits for the handler, oldest first; at most QUEUE_LIMIT doorbells. */
  #queue: Task[] = [];
  /** The run that works through the queue, one task after another, while there is one. */
  #pumping: Promise<void> | undefined;
  /** True while a task runs: close() from inside a handler must not wait for it. */
  #inTask = false;
  /** Settles once the first catch-up has run: start() resolves after it. */
  #firstCatchUp: { promise: Promise<void>; resolve: () => void };
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay = RETRY_FIRST_MS;
  #connected = true;
  #closed = false;

  private constructor(parts: SubscriptionParts) {
    this.#parts = parts;
    let resolve = () => {};
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    this.#firstCatchUp = { promise, resolve };
  }

  static async start(parts: SubscriptionParts): Promise<InboxSubscription> {
    const subscription = new InboxSubscription(parts);
    const { signal } = parts.options;
    if (signal?.aborted) throw new MessengerError('the subscription was aborted before it began');
    signal?.addEventListener('abort', () => void subscription.close(), { once: true });
    try {
      await subscription.#begin();
    } catch (error) {
      await subscription.close();
      throw error;
    }
    return subscription;
  }

  /**
   * Where it stands: the last message delivered, or the newest one when it began. Pass it
   * as `after` to resume; null means nothing in the inbox precedes what comes next (it
   * began on an empty inbox, or `fromFirst`): resume with `fromFirst`.
   */
  get cursor(): string | null {
    return this.#cursor?.id ?? null;
  }

  /** How many doorbells wait for the handler now (never more than the queue's bound, 256). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Stops delivery and leaves the user's channel. Safe to call twice, and from a handler. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#queue = [];
    if (this.#listening) await this.#listening.close().catch(() => {});
    if (this.#listeningForWrites) await this.#listeningForWrites.close().catch(() => {});
    if (!this.#inTask) await this.#pumping;
    this.#parts.onClose(this);
  }

  async #begin(): Promise<void> {
    const { client, inbox, inboxMember, options, run } = this.#parts;
    // The cursor is fixed before listening, and the catch-up runs after the subscription
    // is confirmed: a message stored in between is read by the catch-up, not lost.
    if (options.after !== undefined) {
      const after = options.after;
      const score = await run(() => client.zScore(inbox, inboxMember(after)));
      if (score === null) throw new CursorNotFoundError(after);
      this.#cursor = { id: after, timestamp: String(score) };
    } else if (options.fromFirst) {
      this.#cursor = null;
    } else {
      const [newest] = await run(() => client.zRangeWithScores(inbox, -1, -1));
      this.#cursor = newest
        ? { id: messageIdOfMember(newest.value), timestamp: String(newest.score) }
        : null;
    }
    if (this.#parts.readLate)
      this.#late = new LateEntries(this.#cursor ? Number(this.#cursor.timestamp) : null);
    this.#listening = await run(() =>
      this.#parts.listen({
        message: (raw) => this.#enqueue({ kind: 'ring', raw }),
        // The channel is listened to again before 'ready', so a catch-up started here
        // overlaps the live feed instead of leaving a gap before it.
        ready: () => this.#enqueue({ kind: 'catch-up' }),
        lost: () => this.#setConnected(false),
      }),
    );
    await this.#listenForWrites();
    this.#enqueue({ kind: 'catch-up' });
    await this.#firstCatchUp.promise;
  }

  /**
   * Listens to the inbox's keyspace notifications, where the messenger uses them. A
   * refusal (an ACL that allows only some channels) is reported, and the doorbell alone
   * goes on: the subscription works as it would with notifications off.
   */
  async #listenForWrites(): Promise<void> {
    const { listenForWrites, run } = this.#parts;
    if (!listenForWrites) return;
    try {
      this.#listeningForWrites = await run(() =>
        listenForWrites({
          message: (event) => {
            if (mayHaveAdded(event)) this.#enqueue({ kind: 'wake' });
          },
          // Same connection as the doorbell's: its own ready and lost say nothing more.
          ready: () => {},
          lost: () => {},
        }),
      );
    } catch (error) {
      this.#report(error);
    }
  }

  #enqueue(task: Task): void {
    if (this.#closed) return;
    const queue = this.#queue;
    // One catch-up (or wake-up) waiting reads everything up to the end: a second one adds
    // nothing.
    if (task.kind !== 'ring' && queue.some((t) => t.kind === 'catch-up' || t.kind === task.kind))
      return;
    // The handler is far behind: forget the doorbells, and read the inbox from the cursor
    // once it is free (what they rang for is there).
    if (queue.length >= QUEUE_LIMIT) this.#queue = [{ kind: 'catch-up' }];
    else queue.push(task);
    this.#pumping ??= this.#pump();
  }

  async #pump(): Promise<void> {
    // Yield first, so that #pumping is set before this run can end and clear it.
    await null;
    try {
      for (let task = this.#queue.shift(); task && !this.#closed; task = this.#queue.shift()) {
        this.#inTask = true;
        try {
          if (task.kind === 'catch-up') await this.#catchUp();
          else if (task.kind === 'wake') await this.#wake();
          else await this.#ring(task.raw);
        } catch (error) {
          // A failed task must not stop the ones after it.
          this.#report(error);
        } finally {
          this.#inTask = false;
        }
      }
    } finally {
      this.#pumping = undefined;
    }
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

  async #ring(raw: string): Promise<void> {
    const bell: Bell | null = parseBell(raw);
    const { onSent, onSeen, onSessionEnded } = this.#parts.options;
    if (bell?.kind === 'sent') return void (await onSent?.(bell.message));
    if (bell?.kind === 'seen') return void (await onSeen?.(bell.change));
    if (bell?.kind === 'signed-out') return void (await onSessionEnded?.(bell.session));
    const follows =
      bell !== null &&
      bell.previous === (this.#cursor === null ? '' : this.#parts.inboxMember(this.#cursor.id));
    // Otherwise something was missed, or it was delivered already: the inbox says which.
    if (!bell || !follows) return this.#catchUp();
    await this.#deliver(bell.message, bell.timestamp);
    if (this.#lookBehindDue) {
      this.#lookBehindDue = false;
      // The wake-up may have been for an entry stored behind the cursor at the same
      // moment. Failing, a catch-up (which looks behind too) tries again.
      await this.#lookBehind().catch(() => this.#enqueue({ kind: 'catch-up' }));
    }
  }

  /**
   * A keyspace notification: something was stored. When a received doorbell (or a
   * catch-up) waits behind it, that reads what is new, since it follows it on the same
   * connection: one of this library's sends notifies and then rings, and reading twice
   * would double the cost of every message.
   */
  async #wake(): Promise<void> {
    const readsLater = this.#queue.some((task) => {
      if (task.kind !== 'ring') return task.kind === 'catch-up';
      const bell = parseBell(task.raw);
      return bell === null || bell.kind === 'received';
    });
    if (readsLater) this.#lookBehindDue = this.#late !== undefined;
    else await this.#catchUp();
  }

  /** A page of the inbox after the cursor (from the first message when null). */
  async #readAfter(cursor: Cursor | null, limit: number): Promise<StampedMessagePage> {
    const readFrom = async (request: PageRequest) => {
      let page = await this.#parts.readPage(request);
      // A page of entries that cannot be read (their hashes deleted) must not stop the
      // subscription: read on past them. Each round moves forward in a finite index, so
      // this ends.
      while (page.items.length === 0 && page.hasNewer && page.last) {
        page = await this.#parts.readPage({ mode: 'after', cursor: page.last, limit });
      }
      return page;
    };
    if (!cursor) return readFrom({ mode: 'first', limit });
    try {
      return await readFrom({ mode: 'after', cursor: cursor.id, limit });
    } catch (error) {
      if (!(error instanceof CursorNotFoundError)) throw error;
      // The cursor's message is gone (Redis lost data): go on from its timestamp.
      return readFrom({ mode: 'after-score', cursor: cursor.timestamp, limit });
    }
  }

  /** Delivers everything after the cursor. On failure, tries again a little later. */
  async #catchUp(): Promise<void> {
    try {
      for (;;) {
        const page = await this.#readAfter(this.#cursor, CATCH_UP_PAGE);
        if (page.items.length > 0) await this.#indexFound(page.items);
        for (const { message, timestamp } of page.items) {
          if (this.#closed) return;
          await this.#deliver(message, timestamp);
        }
        // An empty page can only mean entries without a message hash (left by the
        // original program's two-step writes); stop rather than read it again forever.
        if (!page.hasNewer || page.items.length === 0) break;
      }
      this.#lookBehindDue = false;
      await this.#lookBehind();
    } catch (error) {
      if (this.#closed) return;
      this.#report(error);
      clearTimeout(this.#retryTimer);
      this.#retryTimer = setTimeout(() => this.#enqueue({ kind: 'catch-up' }), this.#retryDelay);
      this.#retryDelay = Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
      return;
    } finally {
      this.#firstCatchUp.resolve();
    }
    this.#retryDelay = RETRY_FIRST_MS;
    if (this.#listening?.isReady) this.#setConnected(true);
  }

  /** Conversation entries for what a catch-up found; a refusal (maxmemory) must not stop delivery. */
  async #indexFound(items: StampedMessage[]): Promise<void> {
    try {
      await this.#parts.indexFound?.(items);
    } catch (error) {
      this.#report(error);
    }
  }

  /**
   * Delivers entries stored behind the cursor since it passed them (./late-entries.ts):
   * one ZCOUNT finds none, as a rule. They are delivered once each, after the cursor's
   * message, and the cursor stays where it is.
   */
  async #lookBehind(): Promise<void> {
    const { client, inbox, readLate, run } = this.#parts;
    const late = this.#late;
    const cursor = this.#cursor;
    if (!late || !cursor || !readLate) return;
    const cursorScore = Number(cursor.timestamp);
    const window = late.window(cursorScore);
    if (!window) return;
    const stored = await run(() => client.zCount(inbox, window.min, window.max));
    if (stored === late.count(window)) return;
    const entries = await run(() =>
      client.zRangeWithScores(inbox, window.min, window.max, {
        BY: 'SCORE',
        LIMIT: { offset: 0, count: LATE_MEMORY },
      }),
    );
    const missed = late.unknown(window, entries, entries.length < LATE_MEMORY);
    if (missed.length === 0) return;
    const items = await run(() => readLate(missed.map((entry) => entry.value)));
    const found = items.filter((item): item is StampedMessage => item !== null);
    if (found.length > 0) await this.#indexFound(found);
    for (const [i, entry] of missed.entries()) {
      if (this.#closed) return;
      late.delivered(entry.value, entry.score, cursorScore);
      const item = items[i];
      if (item) await this.#handle(item.message);
    }
  }

  async #deliver(message: Message, timestamp: string): Promise<void> {
    this.#cursor = { id: message.id, timestamp };
    const score = Number(timestamp);
    this.#late?.delivered(this.#parts.inboxMember(message.id), score, score);
    await this.#handle(message);
  }

  async #handle(message: Message): Promise<void> {
    try {
      await this.#parts.handler(message);
    } catch (error) {
      this.#report(error);
    }
  }
}
