/**
 * MessengerClient: the messenger over its server's HTTP API, for a person's program (the
 * CLI, the page). Its methods mirror RedisMessenger's where the meaning is the same, with
 * the session's user implicit, and return the same values.
 * @module
 */
import {
  RateLimitedError,
  ServerRefusedError,
  ServerUnavailableError,
  ServerUnreachableError,
  UserNotFoundError,
  UsernameNotFoundError,
} from '../errors.js';
import type {
  ConversationSummary,
  MessagePage,
  Paging,
  SentMessage,
  UnreadCount,
  User,
  UserPage,
} from '../index.js';
import { type Call, Transport } from './http.js';
import { type LiveOptions, LiveSubscription, type WebSocketConstructor } from './live.js';
import {
  type ConversationJson,
  type MessageJson,
  type MessagePageJson,
  type SessionJson,
  type SessionSummary,
  toConversation,
  toMessage,
  toMessagePage,
  toSession,
  toUser,
  type UserJson,
} from './wire.js';

export interface MessengerClientOptions {
  /** The server's address, e.g. `https://chat.example.com` (the API is under `/api/v1/`). */
  server: string;
  /**
   * The session token (`register`/`login` give one). Without it, requests carry no
   * credential but the browser's cookie.
   */
  token?: string;
  /**
   * The WebSocket class for `subscribe`. In Node 20, which has none built in, pass the
   * `ws` package's: `import { WebSocket } from 'ws'` (it also sends the token as a header;
   * a browser's sends the session cookie instead).
   * @defaultValue `globalThis.WebSocket`
   */
  WebSocket?: WebSocketConstructor;
  /** How long one HTTP request may take. @defaultValue 10 000 ms */
  requestTimeoutMs?: number;
  /**
   * How long `send` keeps retrying a message (same id) while the server is unreachable,
   * busy (503) or rate-limiting (429). @defaultValue 30 000 ms
   */
  sendDeadlineMs?: number;
  /** `fetch` to use. @defaultValue `globalThis.fetch` */
  fetch?: typeof fetch;
}

export interface ClientSendOptions {
  /**
   * The message's id (a UUID): sending again with the same id stores it once. Chosen here
   * (`crypto.randomUUID()`) when not given; keep it to retry after a failure yourself.
   */
  messageId?: string;
  /** Overrides `sendDeadlineMs` for this send. */
  deadlineMs?: number;
}

/** What the server answers `me`: the user and the session in use. */
export interface SignedIn {
  user: User;
  session: SessionSummary;
}

/** The first wait before a send is tried again after a network error; it doubles up to a second. */
const FIRST_SEND_RETRY_MS = 100;

/**
 * A client of a redis-messenger server, acting as one signed-in user.
 *
 * @example
 * ```ts
 * import { MessengerClient } from 'redis-messenger/client';
 * import { WebSocket } from 'ws'; // in Node; a browser has its own
 *
 * const client = await MessengerClient.login('https://chat.example.com', 'alice', password, { WebSocket });
 * await client.sendMessage('bob', 'hello');
 * const live = await client.subscribe((message) => console.log(message.text));
 * ```
 */
export class MessengerClient {
  readonly #transport: Transport;
  readonly #options: MessengerClientOptions;

  constructor(options: MessengerClientOptions) {
    this.#options = options;
    this.#transport = new Transport({
      server: options.server,
      ...(options.token !== undefined ? { token: options.token } : {}),
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    });
  }

  /** Signs up a new user and returns a client signed in as them. */
  static async register(
    server: string,
    username: string,
    password: string,
    options: Omit<MessengerClientOptions, 'server' | 'token'> = {},
  ): Promise<MessengerClient> {
    return MessengerClient.#signIn(server, 'register', { username, password }, options);
  }

  /** Logs in and returns a client with the new session's token (`client.token`). */
  static async login(
    server: string,
    username: string,
    password: string,
    options: Omit<MessengerClientOptions, 'server' | 'token'> = {},
  ): Promise<MessengerClient> {
    return MessengerClient.#signIn(server, 'login', { username, password }, options);
  }

  /**
   * Trades a JWT signed by the app that owns the users (its `sub` is the username) for a
   * session, on a server configured for it (docs/server.md, "Bring your own identity").
   */
  static async loginWithJwt(
    server: string,
    jwt: string,
    options: Omit<MessengerClientOptions, 'server' | 'token'> = {},
  ): Promise<MessengerClient> {
    return MessengerClient.#signIn(server, 'login/jwt', { token: jwt }, options);
  }

  /** Posts the credentials to `route` without a session; a client of the session it opens. */
  static async #signIn(
    server: string,
    route: 'register' | 'login' | 'login/jwt',
    credentials: { username: string; password: string } | { token: string },
    options: Omit<MessengerClientOptions, 'server' | 'token'>,
  ): Promise<MessengerClient> {
    const anonymous = new MessengerClient({ ...options, server });
    const { body } = await anonymous.#call<{ user: UserJson; token: string }>({
      method: 'POST',
      path: route,
      body: credentials,
      ...('username' in credentials ? { subject: { username: credentials.username } } : {}),
    });
    return new MessengerClient({ ...options, server, token: body.token });
  }

  /** The session token: keep it to make a client later with `new MessengerClient({server, token})`. */
  get token(): string | undefined {
    return this.#transport.token;
  }

  /** The server's address, as given. */
  get server(): string {
    return this.#transport.server;
  }

  // ---- the session -------------------------------------------------------------------

  /** Ends this session on the server (its live channels close too). */
  async logout(): Promise<void> {
    await this.#call({ method: 'POST', path: 'logout' });
  }

  /** The signed-in user and this session. */
  async me(): Promise<SignedIn> {
    const { body } = await this.#call<{ user: UserJson; session: SessionJson }>({
      method: 'GET',
      path: 'me',
    });
    return { user: toUser(body.user), session: toSession(body.session) };
  }

  /** Every open session of the user (this one has `current`). */
  async sessions(): Promise<SessionSummary[]> {
    const { body } = await this.#call<{ sessions: SessionJson[] }>({
      method: 'GET',
      path: 'sessions',
    });
    return body.sessions.map(toSession);
  }

  /** Ends one of the user's sessions (signs that device out); false if it had ended. */
  async endSession(sessionId: string): Promise<boolean> {
    return this.#found(() =>
      this.#call({ method: 'DELETE', path: `sessions/${encodeURIComponent(sessionId)}` }),
    );
  }

  // ---- users -------------------------------------------------------------------------

  /** The user with this id, or null. */
  async getUser(userId: string): Promise<User | null> {
    return this.#userOrNull(userId);
  }

  /** The user with this name (compared as the messenger compares names), or null. */
  async findUserByUsername(username: string): Promise<User | null> {
    return this.#userOrNull(username);
  }

  /** All users, in the order they were created, a page at a time (at most 100). */
  async listAllUsers(paging: { limit?: number; after?: string } = {}): Promise<UserPage> {
    const { body } = await this.#call<{ users: UserJson[]; hasMore: boolean }>({
      method: 'GET',
      path: `users${query(paging)}`,
      ...(paging.after ? { subject: { cursor: paging.after } } : {}),
    });
    return { users: body.users.map(toUser), hasMore: body.hasMore };
  }

  /**
   * The users whose name starts with `prefix`, compared as names are (ignoring case:
   * "al" finds "Alice" and "ALBERT"), ordered by name: at most `limit` (default 20, at
   * most 100), with `hasMore` when there are more. A bad prefix (empty, over 32
   * characters, a control character, a leading space) is a ValidationError.
   *
   * @example
   * ```ts
   * const { users } = await client.searchUsers('al', { limit: 5 });
   * ```
   */
  async searchUsers(prefix: string, options: { limit?: number } = {}): Promise<UserPage> {
    const { body } = await this.#call<{ users: UserJson[]; hasMore: boolean }>({
      method: 'GET',
      path: `users${query({ prefix, limit: options.limit })}`,
    });
    return { users: body.users.map(toUser), hasMore: body.hasMore };
  }

  // ---- messages ----------------------------------------------------------------------

  /** Sends a text to `to` (a username or a user id) and returns the message's id. */
  async sendMessage(to: string, text: string, options: ClientSendOptions = {}): Promise<string> {
    return (await this.send(to, text, options)).message.id;
  }

  /**
   * Sends as `sendMessage` does, and returns what was stored. The message goes with an id
   * chosen here, so that it is tried again with the same id, and stored once, while the
   * server is unreachable, busy or rate-limiting (waiting as long as it asks), until
   * `deadlineMs`; then the last error.
   */
  async send(to: string, text: string, options: ClientSendOptions = {}): Promise<SentMessage> {
    const messageId = options.messageId ?? crypto.randomUUID();
    const deadline = Date.now() + (options.deadlineMs ?? this.#options.sendDeadlineMs ?? 30_000);
    const call: Call = {
      method: 'PUT',
      path: `messages/${encodeURIComponent(messageId)}`,
      body: { to, text },
      subject: { user: to, messageId },
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const { status, body } = await this.#call<{ message: MessageJson }>(call);
        // 200: the server had it already (an earlier attempt was stored, its answer lost).
        return { message: toMessage(body.message), replayed: status === 200 };
      } catch (error) {
        const waitMs = retryWait(error, attempt);
        if (waitMs === undefined || Date.now() + waitMs > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  /** The messages the user received, oldest first: the newest page unless a cursor is given. */
  async listUserMessages(paging: Paging = {}): Promise<MessagePage> {
    return this.#page('inbox', paging);
  }

  /** The messages between the user and `other` (a username or id), both ways, oldest first. */
  async listConversation(other: string, paging: Paging = {}): Promise<MessagePage> {
    return this.#page(`conversations/${encodeURIComponent(other)}/messages`, paging, other);
  }

  /** The people the user has exchanged messages with, most recent first. */
  async listConversations(options: { limit?: number } = {}): Promise<ConversationSummary[]> {
    const { body } = await this.#call<{ conversations: ConversationJson[] }>({
      method: 'GET',
      path: `conversations${query(options)}`,
    });
    return body.conversations.map(toConversation);
  }

  // ---- seen and unread ---------------------------------------------------------------

  /** Marks messages the user received as seen; returns how many were unseen before. */
  async markSeen(messageIds: string[]): Promise<number> {
    const { body } = await this.#call<{ marked: number }>({
      method: 'POST',
      path: 'messages/seen',
      body: { ids: messageIds },
    });
    return body.marked;
  }

  /** Marks seen every message `other` sent the user; returns how many were unseen. */
  async markConversationSeen(other: string): Promise<number> {
    const { body } = await this.#call<{ marked: number }>({
      method: 'POST',
      path: `conversations/${encodeURIComponent(other)}/seen`,
      subject: { user: other },
    });
    return body.marked;
  }

  /** How many messages the user has not seen, in all and per sender id. */
  async unreadCount(): Promise<UnreadCount> {
    return (await this.#call<UnreadCount>({ method: 'GET', path: 'unread' })).body;
  }

  // ---- contacts ----------------------------------------------------------------------

  /** Adds a contact (a username or id); returns false if they already were one. */
  async addContact(user: string): Promise<boolean> {
    const { status } = await this.#call({
      method: 'PUT',
      path: `contacts/${encodeURIComponent(user)}`,
      subject: { user },
    });
    return status === 201;
  }

  /** Removes a contact; returns false if they were not one. */
  async removeContact(user: string): Promise<boolean> {
    return this.#found(() =>
      this.#call({
        method: 'DELETE',
        path: `contacts/${encodeURIComponent(user)}`,
        subject: { user },
      }),
    );
  }

  /** The user's contacts, by username. */
  async listContacts(): Promise<User[]> {
    const { body } = await this.#call<{ contacts: UserJson[] }>({
      method: 'GET',
      path: 'contacts',
    });
    return body.contacts.map(toUser);
  }

  // ---- live delivery -----------------------------------------------------------------

  /**
   * Calls `handler` with every message the user receives, in order, once each, over the
   * live channel. With `after` (a message id) it first delivers everything after it; with
   * `fromFirst`, everything in the inbox (`subscription.resume` says which to pass later).
   * A dropped connection is reconnected (full-jitter backoff) and resumed from the
   * cursor; an ended session ends the subscription (`ended`, `onError`) with
   * SessionEndedError. Resolves once the first connection is live; rejects if it cannot be.
   */
  async subscribe(
    handler: LiveOptions['handler'],
    options: Omit<LiveOptions, 'handler' | 'url' | 'token' | 'WebSocket' | 'client'> = {},
  ): Promise<LiveSubscription> {
    const WebSocket =
      this.#options.WebSocket ??
      ((globalThis as { WebSocket?: unknown }).WebSocket as WebSocketConstructor | undefined);
    if (!WebSocket) {
      throw new ServerRefusedError(
        0,
        'no_websocket',
        'this runtime has no WebSocket: pass one (in Node, the ws package: { WebSocket } from "ws")',
      );
    }
    return LiveSubscription.start({
      ...options,
      handler,
      url: this.#transport.liveUrl,
      ...(this.#transport.token ? { token: this.#transport.token } : {}),
      WebSocket,
      client: this,
    });
  }

  // ---- inside ------------------------------------------------------------------------

  #call<T>(call: Call) {
    return this.#transport.request<T>(call);
  }

  async #page(path: string, paging: Paging, other?: string): Promise<MessagePage> {
    const cursor = paging.before ?? paging.after;
    const { body } = await this.#call<MessagePageJson>({
      method: 'GET',
      path: `${path}${query(paging)}`,
      subject: {
        ...(other !== undefined ? { user: other } : {}),
        ...(cursor !== undefined ? { cursor } : {}),
      },
    });
    return toMessagePage(body);
  }

  async #userOrNull(nameOrId: string): Promise<User | null> {
    try {
      const { body } = await this.#call<{ user: UserJson }>({
        method: 'GET',
        path: `users/${encodeURIComponent(nameOrId)}`,
        subject: { user: nameOrId },
      });
      return toUser(body.user);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** True when `call` succeeded, false when the server said there was no such thing (404). */
  async #found(call: () => Promise<unknown>): Promise<boolean> {
    try {
      await call();
      return true;
    } catch (error) {
      if (error instanceof ServerRefusedError && error.status === 404) return false;
      throw error;
    }
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof UserNotFoundError || error instanceof UsernameNotFoundError;
}

/** `?limit=..&before=..` from the fields that are set. */
function query(fields: object): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(fields) as [string, unknown][]) {
    if (value !== undefined) params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * How long to wait before sending again, or undefined when trying again cannot help:
 * what the server asks on a 429 or 503, a short doubling wait when it did not answer
 * (the request may have been stored; the same id makes the retry safe).
 */
function retryWait(error: unknown, attempt: number): number | undefined {
  if (error instanceof RateLimitedError || error instanceof ServerUnavailableError)
    return error.retryAfterMs;
  if (error instanceof ServerUnreachableError)
    return Math.min(1000, FIRST_SEND_RETRY_MS * 2 ** attempt);
  return undefined;
}
