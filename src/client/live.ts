/**
 * The live channel (`GET /api/v1/live`, docs/server.md) from the client's side: hello
 * with the cursor, the replay, then pushes; reconnecting with full-jitter backoff and
 * resuming from the last cursor, so that nothing is missed and nothing delivered twice.
 * Only the WebSocket API that browsers and the `ws` package share is used.
 * @module
 */
import { ServerRefusedError, SessionEndedError, ValidationError } from '../errors.js';
import type { Message, SeenChange } from '../index.js';
import { type MessageJson, toMessage } from './wire.js';

/**
 * The part of a WebSocket this module uses: the same in browsers and in `ws`. The
 * handlers' event types differ between the two (DOM `Event`s, ws's own classes), so they
 * are left open here; this module reads `data`, `code` and `reason`, which both have.
 */
export interface LiveSocket {
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/**
 * A WebSocket class: the browser's, or the `ws` package's in Node (whose third argument
 * carries the `Authorization` header; a browser ignores it and sends the cookie).
 */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
  options?: { headers?: Record<string, string> },
) => LiveSocket;

/** What the subscription needs of the client: whether the session holds. */
export interface LiveClient {
  me(): Promise<unknown>;
}

export interface LiveOptions {
  /** Called with each message the user receives, in order, once. */
  handler: (message: Message) => void | Promise<void>;
  /**
   * Deliver first every message received after this one (a message id), then go on live.
   * @defaultValue none: only messages that arrive from now on
   */
  after?: string;
  /**
   * Deliver first every message in the inbox, then go on live: how a subscription that
   * began on an empty inbox resumes (see `resume`). Not with `after`.
   */
  fromFirst?: boolean;
  /**
   * false when the connection drops, or with `why` 'paused' when the server says it lost
   * Redis (the socket stays open, messages wait); true once it is back and caught up.
   */
  onConnectionChange?: (connected: boolean, why?: 'paused') => void;
  /** Every message the user sends, from any device (live only). */
  onSent?: (message: Message) => void | Promise<void>;
  /** Messages marked seen anywhere (live only). */
  onSeen?: (change: SeenChange) => void | Promise<void>;
  /**
   * The subscription cannot prove it missed nothing (the server did not know the cursor):
   * reload over HTTP. It goes on live from the newest.
   */
  onReset?: () => void | Promise<void>;
  /** Errors it recovers from (a dropped connection, a handler that threw), and the one that ends it. */
  onError?: (error: Error) => void;
  /**
   * The reconnection backoff: the wait before attempt n is random in [0, min(max, first·2ⁿ)].
   * @defaultValue `{ firstMs: 1000, maxMs: 30_000 }`
   */
  backoff?: { firstMs: number; maxMs: number };
  /**
   * A ping goes out this often; a connection that brought nothing in two of them is
   * replaced. @defaultValue 25 000 ms (the server's own ping interval)
   */
  pingEveryMs?: number;
  /**
   * How long the server may take from the socket's opening to `ready`; doubled after each
   * connection that failed, up to 8 times as long. @defaultValue 15 000 ms
   */
  readyWithinMs?: number;
  /** How long to wait after the server closed for too many frames (4008). @defaultValue 60 000 ms */
  rateLimitedWaitMs?: number;
  url: string;
  token?: string;
  WebSocket: WebSocketConstructor;
  client: LiveClient;
}

/** Close codes of docs/server.md. */
const SESSION_ENDED = 4001;
const PROTOCOL = 4002;
const RATE_LIMITED = 4008;
/** How many delivered ids are remembered to drop a second delivery. */
const REMEMBERED_IDS = 10_000;
/** How long the server may take from the upgrade to `ready`, at first. */
const READY_WITHIN_MS = 15_000;
/**
 * After each connection that failed, the wait for `ready` doubles, up to 2³ times the
 * first: a server working through a herd of reconnections (every socket of a restart at
 * once) answers each in turn, and clients that all gave up at the same moment would
 * come back as the same herd, forever.
 */
const READY_DOUBLINGS = 3;

interface Frame {
  type?: string;
  message?: MessageJson;
  cursor?: string | null;
  messageIds?: string[];
  with?: string;
  marked?: number;
}

/** A live subscription of the signed-in user's inbox. */
export class LiveSubscription {
  readonly #options: LiveOptions;
  #cursor: string | undefined;
  /**
   * The server said nothing in the inbox precedes what comes next (it was empty): a
   * reconnection asks for everything from the first message, so nothing stored meanwhile
   * is skipped.
   */
  #fromFirst = false;
  readonly #delivered = new Set<string>();
  #socket: LiveSocket | undefined;
  #connected = false;
  /**
   * The current socket's server said it lost Redis (`paused`) and has not said `resumed`:
   * not live for the person, though the socket is up. Kept apart from `#connected` since
   * it may come before the socket's `ready`.
   */
  #serverPaused = false;
  #closed = false;
  #attempt = 0;
  /** The last connection ended before the server said ready. */
  #refusedBeforeReady = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #pinger: ReturnType<typeof setInterval> | undefined;
  #readyTimer: ReturnType<typeof setTimeout> | undefined;
  /** Frames are handled one after another, so that handlers see messages in order. */
  #queue: Promise<void> = Promise.resolve();
  #end!: (reason: Error | undefined) => void;
  /** Resolves when the subscription ends: undefined after close(), else why (SessionEndedError). */
  readonly ended: Promise<Error | undefined>;

  private constructor(options: LiveOptions) {
    this.#options = options;
    this.#cursor = options.after;
    this.#fromFirst = options.fromFirst === true;
    this.ended = new Promise((resolve) => {
      this.#end = resolve;
    });
  }

  /** Starts it; resolves once the first connection is ready, rejects if it fails. */
  static async start(options: LiveOptions): Promise<LiveSubscription> {
    if (options.after !== undefined && options.fromFirst)
      throw new ValidationError('subscribe takes after or fromFirst, not both');
    const subscription = new LiveSubscription(options);
    await subscription.#first();
    return subscription;
  }

  /** The last message delivered (pass it as `after` to resume later), if any. */
  get cursor(): string | undefined {
    return this.#cursor;
  }

  /**
   * What to pass to `subscribe` to go on later where this one stands: `{ after }`, or
   * `{ fromFirst: true }` when nothing in the inbox precedes what comes next (it was
   * empty), or `{}` before the first connection was ready.
   */
  get resume(): { after?: string; fromFirst?: true } {
    if (this.#cursor !== undefined) return { after: this.#cursor };
    return this.#fromFirst ? { fromFirst: true } : {};
  }

  /** Whether the connection is up and caught up. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Stops it: no handler is called after this resolves. */
  async close(): Promise<void> {
    this.#finish(undefined);
    await this.#queue;
  }

  async #first(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#open({
        ready: resolve,
        failed: async (why) => reject(await this.#explain(why)),
      });
    });
  }

  /** Where to begin: after the cursor, from the first message, or (the first time) from now on. */
  #hello(): { type: 'hello'; after?: string | null; fromFirst?: true } {
    if (this.#cursor !== undefined) return { type: 'hello', after: this.#cursor };
    if (this.#fromFirst) return { type: 'hello', fromFirst: true };
    return { type: 'hello', after: null };
  }

  /**
   * Opens one connection. `first` is set for the first one: its outcome settles `start`
   * instead of scheduling a retry.
   */
  #open(first?: { ready: () => void; failed: (why: Error) => void }): void {
    if (this.#closed) return;
    const { WebSocket, url, token } = this.#options;
    let socket: LiveSocket;
    try {
      socket = new WebSocket(
        url,
        [],
        token ? { headers: { authorization: `Bearer ${token}` } } : {},
      );
    } catch (error) {
      if (first) first.failed(error as Error);
      else this.#dropped(error as Error);
      return;
    }
    this.#socket = socket;
    this.#serverPaused = false; // a new socket, perhaps another server: it will say so
    let ready = false;
    /** Its `ready` frame's turn in the queue has come (`ready` is set on arrival). */
    let readyHandled = false;
    let heard = true;
    const done = (why: Error, code?: number) => {
      if (this.#socket !== socket) return; // already replaced
      this.#detach(socket);
      if (!ready && first) first.failed(why);
      else {
        this.#refusedBeforeReady = !ready;
        this.#dropped(why, code);
      }
    };
    socket.onopen = () => {
      socket.send(JSON.stringify(this.#hello()));
      const readyWithin =
        (this.#options.readyWithinMs ?? READY_WITHIN_MS) *
        2 ** Math.min(this.#attempt, READY_DOUBLINGS);
      this.#readyTimer = setTimeout(
        () => done(new Error('the server did not say ready in time')),
        readyWithin,
      );
      this.#pinger = setInterval(() => {
        if (!heard) return done(new Error('the connection fell silent'));
        heard = false;
        socket.send(JSON.stringify({ type: 'ping' }));
      }, this.#options.pingEveryMs ?? 25_000);
    };
    socket.onmessage = (event: { data: unknown }) => {
      heard = true;
      let frame: Frame;
      try {
        frame = JSON.parse(String(event.data));
      } catch {
        return; // not ours to understand; the server only sends JSON
      }
      if (frame.type === 'ready') {
        ready = true;
        const { cursor } = frame;
        clearTimeout(this.#readyTimer);
        this.#attempt = 0;
        this.#enqueue(async () => {
          if (this.#socket !== socket) return;
          readyHandled = true;
          // Where the replay left the socket, so that a reconnection resumes from there
          // rather than from whatever is newest then ("from now on" skips what came between).
          if (typeof cursor === 'string') this.#cursor = cursor;
          else if (cursor === null && this.#cursor === undefined) this.#fromFirst = true;
          // As the library's subscribe: the first connection is the promise resolving,
          // onConnectionChange tells of the ones after a drop.
          if (first) this.#connected = true;
          else this.#setConnected(true);
          // Its server lost Redis before (or during) the replay: live only at `resumed`.
          if (this.#serverPaused) this.#setConnected(false, 'paused');
          first?.ready();
        });
        return;
      }
      if (frame.type === 'paused' || frame.type === 'resumed') {
        const paused = frame.type === 'paused';
        // In turn with the frames before it, and only from the socket still in use (a
        // `resumed` queued behind a slow handler must not say live after a drop).
        this.#enqueue(async () => {
          if (this.#socket !== socket) return;
          this.#serverPaused = paused;
          if (readyHandled) this.#setConnected(!paused, paused ? 'paused' : undefined);
        });
        return;
      }
      this.#enqueue(() => this.#handle(frame));
    };
    socket.onclose = (event: { code: number; reason: string }) =>
      done(closeError(event.code, event.reason), event.code);
    socket.onerror = () => {}; // onclose follows, with the code
  }

  async #handle(frame: Frame): Promise<void> {
    if (this.#closed) return;
    if (frame.type === 'message' && frame.message) {
      const message = toMessage(frame.message);
      if (typeof frame.cursor !== 'string') return this.#call(this.#options.onSent, message);
      this.#cursor = frame.cursor;
      this.#fromFirst = false;
      if (!this.#deliver(message)) return; // delivered already (a replay overlapping a push)
      return this.#queueHandler(message);
    }
    if (frame.type === 'seen') {
      const change: SeenChange = { marked: frame.marked ?? 0 };
      if (frame.messageIds) change.messageIds = frame.messageIds;
      if (frame.with) change.with = frame.with;
      return this.#call(this.#options.onSeen, change);
    }
    if (frame.type === 'reset') {
      // The server goes on from the newest: forget the cursor it did not know (its ready
      // frame says where the newest is).
      this.#cursor = undefined;
      this.#fromFirst = false;
      return this.#call(this.#options.onReset, undefined);
    }
  }

  /** Marks a message delivered; false if it had been (then it is not delivered again). */
  #deliver(message: Message): boolean {
    if (this.#delivered.has(message.id)) return false;
    this.#delivered.add(message.id);
    if (this.#delivered.size > REMEMBERED_IDS) {
      const oldest = this.#delivered.values().next().value;
      if (oldest !== undefined) this.#delivered.delete(oldest);
    }
    return true;
  }

  async #queueHandler(message: Message): Promise<void> {
    await this.#call(this.#options.handler, message);
  }

  async #call<T>(fn: ((value: T) => void | Promise<void>) | undefined, value: T): Promise<void> {
    if (!fn || this.#closed) return;
    try {
      await fn(value);
    } catch (error) {
      this.#options.onError?.(error as Error);
    }
  }

  #enqueue(work: () => Promise<void>): void {
    this.#queue = this.#queue.then(work, work);
  }

  #detach(socket: LiveSocket): void {
    clearInterval(this.#pinger);
    clearTimeout(this.#readyTimer);
    socket.onopen = socket.onmessage = socket.onclose = null;
    // Not null: `ws` throws an 'error' event nobody listens to (closing while connecting).
    socket.onerror = () => {};
    if (this.#socket === socket) this.#socket = undefined;
    try {
      socket.close(1000, 'bye');
    } catch {
      // closing a socket that never opened may throw in some runtimes; it is gone either way
    }
  }

  #setConnected(connected: boolean, why?: 'paused'): void {
    if (this.#connected === connected) return;
    this.#connected = connected;
    this.#options.onConnectionChange?.(connected, why);
  }

  /** A connection that was up (or being retried) ended: end, or wait and connect again. */
  #dropped(why: Error, code?: number): void {
    if (this.#closed) return;
    this.#setConnected(false);
    // An ended session (by close code, or as HTTP said during a catch-up) cannot come back.
    if (code === SESSION_ENDED || code === PROTOCOL || why instanceof SessionEndedError) {
      this.#finish(why);
      return;
    }
    this.#options.onError?.(why);
    const { firstMs, maxMs } = this.#options.backoff ?? { firstMs: 1000, maxMs: 30_000 };
    const ceiling = Math.min(maxMs, firstMs * 2 ** this.#attempt);
    const wait =
      code === RATE_LIMITED ? (this.#options.rateLimitedWaitMs ?? 60_000) : Math.random() * ceiling;
    this.#attempt = Math.min(this.#attempt + 1, 30);
    this.#retry = setTimeout(() => this.#reconnect(), wait);
  }

  async #reconnect(): Promise<void> {
    if (this.#closed) return;
    if (this.#refusedBeforeReady) {
      // A connection refused before it was ready (a browser says no more than 1006) may be
      // a session that ended: HTTP says so, and then trying again cannot help.
      const why = await this.#explain(new Error('the live channel refused the connection'));
      if (why instanceof SessionEndedError) return this.#finish(why);
    }
    this.#open();
  }

  /** Why a connection failed, in words: a session that ended says so over HTTP. */
  async #explain(why: Error): Promise<Error> {
    if (why instanceof SessionEndedError) return why;
    try {
      await this.#options.client.me();
    } catch (error) {
      return error as Error; // SessionEndedError, ServerUnreachableError, ...
    }
    return why;
  }

  #finish(reason: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    if (this.#socket) this.#detach(this.#socket);
    this.#setConnected(false);
    if (reason) this.#options.onError?.(reason);
    this.#end(reason);
  }
}

/** The error a close code means (docs/server.md's list). */
function closeError(code: number, reason: string): Error {
  if (code === SESSION_ENDED) return new SessionEndedError();
  const said = reason || 'the connection closed';
  if (code === PROTOCOL) return new ServerRefusedError(code, 'protocol', said);
  return new Error(`the live channel closed (${code}): ${said}`);
}
