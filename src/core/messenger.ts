/**
 * RedisMessenger: users, messages, contacts, seen flags and live delivery, on the
 * original program's Redis schema (docs/schema.md).
 * @module
 */
import { randomUUID } from 'node:crypto';
import {
  BadDataError,
  MessengerError,
  NameRefusal,
  NotReplicatedError,
  RateLimitedError,
  Refusal,
  refusalError,
  UserNotFoundError,
  UsernameTakenError,
  ValidationError,
} from '../errors.js';
import { isCluster, type RedisConnection } from '../redis/connect.js';
import { databaseOf } from '../redis/keyspace-events.js';
import { Accounts, endedSessionNotice } from './accounts.js';
import { type Backend, openBackend } from './backend/index.js';
import { RedisCalls } from './calls.js';
import { conversationSummaries } from './conversations.js';
import { seenBell, sessionEndedBell } from './doorbell.js';
import { newMessageId } from './ids.js';
import type { Keys } from './keys.js';
import { InboxSubscription, type SubscribeOptions } from './live.js';
import { detectLiveCoverage, type LiveCoverage } from './live-coverage.js';
import {
  type MigrationProgress,
  type MigrationReport,
  migrateClusterLayout,
} from './migrate-cluster.js';
import { matchNames } from './name-search.js';
import { type MessengerOptions, type Settings, settingsOf } from './options.js';
import {
  hashesOf,
  messagePageOf,
  readIndexPage,
  readMessagePage,
  readMessagesOf,
  type StampedMessagePage,
} from './pages.js';
import { type BucketLimit, bucketArgs, RateLimits } from './rate-limits.js';
import { parseTime, USER_FIELDS, userFromHash } from './records.js';
import {
  indexFoundMessages,
  type ReindexProgress,
  type ReindexReport,
  rebuildIndexes,
} from './reindex.js';
import { type IndexNamesReport, indexSeedNames, namesBehind } from './seed-users.js';
import type {
  ConversationSummary,
  Message,
  MessagePage,
  SentMessage,
  UnreadCount,
  User,
  UserPage,
} from './types.js';
import {
  DEFAULT_SEARCH_LIMIT,
  foldUsername,
  isId,
  MAX_PAGE_LIMIT,
  MAX_SEARCH_LIMIT,
  type PageRequest,
  type Paging,
  validateId,
  validateLimit,
  validateNamePrefix,
  validatePaging,
  validateText,
  validateUsername,
} from './validate.js';

export interface SendOptions {
  /**
   * A UUID chosen by the caller. Sending again with the same id stores the message only
   * once, which makes a retry after a timeout or a dropped connection safe.
   */
  messageId?: string;
  /**
   * The sender's send bucket (the server's send limit): the send first takes a token
   * from it, in the same step, and when there is none stores nothing and throws
   * RateLimitedError. The bucket is `rateLimits`' rule `send` of the sender.
   */
  limit?: BucketLimit;
}

/**
 * A messenger on Redis.
 *
 * @example
 * ```ts
 * const messenger = await RedisMessenger.connect({ url: 'redis://127.0.0.1:6379' });
 * const alice = await messenger.createUser('Alice');
 * const bob = await messenger.createUser('Bob');
 * await messenger.sendMessage(alice, bob, 'Hello, Bob!');
 * const { messages } = await messenger.listUserMessages(bob);
 * await messenger.close();
 * ```
 */
export class RedisMessenger {
  /** What differs between one Redis and a cluster: connections, writes, subscriber, ... */
  readonly #backend: Backend;
  readonly #client: RedisConnection;
  readonly #keys: Keys;
  readonly #options: Settings;
  readonly #calls: RedisCalls;
  readonly #subscriptions = new Set<InboxSubscription>();
  #accounts: Accounts | undefined;
  #rateLimits: RateLimits | undefined;
  /** The database the connection selected (keyspace channels name it). */
  readonly #database: number;
  /** What live delivery covers, read once at the first subscribe (or liveCoverage()). */
  #coverage: Promise<LiveCoverage> | undefined;
  /** The one run of indexSeedNames under way, shared by every call that needs it. */
  #indexingNames: Promise<IndexNamesReport> | undefined;
  #closed = false;

  private constructor(backend: Backend, options: Settings, database: number) {
    this.#backend = backend;
    this.#database = database;
    this.#client = backend.client;
    this.#keys = backend.keys;
    this.#options = options;
    this.#calls = new RedisCalls(
      backend.client,
      backend.target,
      options.commandTimeoutMs,
      () => this.#closed,
      (error) => backend.explainReply(error),
    );
  }

  /** Connects to Redis and returns a ready messenger; rejects with RedisUnavailableError. */
  static async connect(options: MessengerOptions = {}): Promise<RedisMessenger> {
    const { namespace, target, settings } = settingsOf(options);
    const backend = await openBackend(target, {
      namespace,
      connectTimeoutMs: settings.connectTimeoutMs,
      separateSends: settings.waitForReplicas > 0,
      onConnectionError: settings.onConnectionError,
    });
    try {
      const database = target.kind === 'standalone' ? databaseOf(target.url) : 0;
      const messenger = new RedisMessenger(backend, settings, database);
      await messenger.#calls.run(() => Promise.all([backend.loadScripts(), backend.checkLayout()]));
      return messenger;
    } catch (error) {
      await backend.close();
      throw error;
    }
  }

  /**
   * Moves a Redis Cluster's keys from cluster layout 1 (written by earlier versions:
   * docs/schema.md, "Moving from layout 1") to this version's, which `connect` otherwise
   * refuses. Offline: stop every messenger that uses the cluster first (one that connects
   * meanwhile is refused). Cut short, it is finished by running it again; on a cluster in
   * layout 2 already it does nothing. Each step has the command deadline.
   */
  static async migrateClusterLayout(
    options: MessengerOptions,
    { onProgress }: { onProgress?: (progress: MigrationProgress) => void } = {},
  ): Promise<MigrationReport> {
    const { namespace, target, settings } = settingsOf(options);
    if (target.kind !== 'cluster') {
      throw new ValidationError(
        "one Redis keeps the original program's layout, which never changes: only a Redis Cluster is migrated",
      );
    }
    const backend = await openBackend(target, {
      namespace,
      connectTimeoutMs: settings.connectTimeoutMs,
      separateSends: false,
      onConnectionError: settings.onConnectionError,
    });
    const messenger = new RedisMessenger(backend, settings, 0);
    try {
      await messenger.#calls.run(() => backend.loadScripts());
      return await migrateClusterLayout(backend, (step) => messenger.#calls.run(step), onProgress);
    } catch (error) {
      throw messenger.#calls.translate(error);
    } finally {
      await messenger.close();
    }
  }

  /** Stops every subscription and closes the connection. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#subscriptions].map((s) => s.close()));
    await this.#backend.close();
  }

  // ---- users -------------------------------------------------------------------------

  /** Creates a user and returns their id. Throws UsernameTakenError if the name is taken. */
  async createUser(username: string): Promise<string> {
    return (await this.addUser(username)).id;
  }

  /**
   * Creates a user as `createUser` does, and returns the user as stored (the name as
   * given, the creation time Redis set), with no second read.
   */
  async addUser(username: string): Promise<User> {
    const name = validateUsername(username);
    const id = randomUUID();
    const create = () =>
      this.#calls.run(() => this.#backend.writes.createUser(name, foldUsername(name), id));
    const reply = await this.#withSeedNames(create, (r) => r === NameRefusal.NotIndexed, 3);
    if (reply === NameRefusal.Taken) throw new UsernameTakenError(name);
    if (typeof reply === 'number')
      throw new MessengerError('usernames are changing too fast to check this one; try again');
    return { id, username: name, createdAt: parseTime(reply) };
  }

  /** The user with this id, or null. */
  async getUser(userId: string): Promise<User | null> {
    const id = validateId(userId, 'user id');
    const hash = await this.#calls.run(() => this.#client.hGetAll(this.#keys.user(id)));
    return userFromHash(hash, id);
  }

  /** The user with this name (compared as `createUser` compares names), or null. */
  async findUserByUsername(username: string): Promise<User | null> {
    const name = validateUsername(username);
    const foldedName = foldUsername(name);
    const keys = this.#keys;
    const lookUp = () =>
      this.#calls.run(() =>
        Promise.all([
          this.#client.hGet(keys.usernames, name),
          this.#client.hGet(keys.foldedUsernames, foldedName),
          this.#client.hLen(keys.usernames),
          this.#client.get(keys.usernamesIndexed),
        ]),
      );
    const [exact, folded] = await this.#withSeedNames(
      lookUp,
      ([exact, folded, names, indexed]) => !exact && !folded && namesBehind(names, indexed),
    );
    // Another program may have written something that is not a user id there: use the
    // entry that is one, or say which is bad (not "user id must be a UUID").
    const id = [exact, folded].find((entry) => entry && isId(entry, true));
    if (id) return this.getUser(id);
    const bad = exact ?? folded;
    if (bad) {
      throw new BadDataError(
        exact ? keys.usernames : keys.foldedUsernames,
        `maps "${name}" to ${JSON.stringify(bad.slice(0, 64))}, which is not a user id`,
      );
    }
    return null;
  }

  /** All users, in the order they were created, a page at a time. */
  async listAllUsers(paging: { limit?: number; after?: string } = {}): Promise<UserPage> {
    const { limit: asked, after: cursor } = paging ?? {};
    const limit = validateLimit(asked);
    const after = cursor === undefined ? undefined : validateId(cursor, 'after');
    const keys = this.#keys;
    const readPage = () =>
      this.#calls.run(() =>
        Promise.all([
          readIndexPage(
            this.#backend,
            keys.userIndex,
            after ? { mode: 'after', limit, cursor: after } : { mode: 'first', limit },
            (member) => keys.user(member),
            USER_FIELDS,
          ),
          this.#client.hLen(keys.usernames),
          this.#client.get(keys.usernamesIndexed),
        ]),
      );
    const [page] = await this.#withSeedNames(readPage, ([, names, indexed]) =>
      namesBehind(names, indexed),
    );
    const users = page.entries.flatMap(({ member, hash }) => userFromHash(hash, member) ?? []);
    return { users, hasMore: page.hasNewer };
  }

  /**
   * The users whose name starts with `prefix`, compared as `createUser` compares names
   * (NFKC, case folded: "al" finds "Alice" and "ALBERT"), ordered by that folded name; at
   * most `limit` (default 20, at most 100), with `hasMore` when there are more. One short
   * script and one read of the users found, whatever the directory's size. Names stored
   * before the name index existed, or by the original program, are indexed first, once.
   *
   * @example
   * ```ts
   * const { users } = await messenger.searchUsers('al', { limit: 5 });
   * ```
   */
  async searchUsers(prefix: string, options: { limit?: number } = {}): Promise<UserPage> {
    const folded = foldUsername(validateNamePrefix(prefix));
    const limit = validateLimit(options?.limit, DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT);
    // One more than asked: whether there are more.
    const search = () =>
      this.#calls.run(() => matchNames(this.#client, this.#keys, folded, limit + 1));
    const matches = await this.#withSeedNames(search, (found) => found.behind);
    const ids = [...new Set(matches.userIds)].slice(0, limit);
    // Read as a listing reads them: a key of another type there is skipped, not an error.
    const entries = await this.#calls.run(() =>
      hashesOf(this.#backend, ids, (id) => this.#keys.user(id), USER_FIELDS),
    );
    const users = entries.flatMap(({ member, hash }) => userFromHash(hash, member) ?? []);
    return { users, hasMore: matches.found > limit };
  }

  // ---- messages ----------------------------------------------------------------------

  /**
   * Sends a text from one user to another and returns the message's id. The message and
   * every index entry for it are stored together or not at all.
   */
  async sendMessage(
    senderId: string,
    receiverId: string,
    text: string,
    options: SendOptions = {},
  ): Promise<string> {
    return (await this.send(senderId, receiverId, text, options)).message.id;
  }

  /**
   * Sends as `sendMessage` does, and returns what was stored (its timestamp is the one
   * every reader sees), with no second read: what a server answers its client.
   */
  async send(
    senderId: string,
    receiverId: string,
    text: string,
    options: SendOptions = {},
  ): Promise<SentMessage> {
    const sender = validateId(senderId, 'sender id');
    const receiver = validateId(receiverId, 'receiver id');
    const body = validateText(text, this.#options.maxTextLength);
    if (sender === receiver)
      throw new ValidationError('a user cannot send a message to themselves');
    const id =
      options?.messageId === undefined
        ? newMessageId()
        : validateId(options.messageId, 'message id');
    const limit = options?.limit && bucketArgs(options.limit);
    const reply = await this.#calls.run((step) =>
      this.#backend.sends.sendMessage(id, sender, receiver, body, limit, step),
    );
    if (reply.code === Refusal.SendLimited)
      throw new RateLimitedError(reply.waitMs ?? 0, 'you are sending too fast');
    if (reply.code < 0)
      throw refusalError(reply.code, { first: sender, second: receiver, messageId: id });
    const { waitForReplicas: wanted, replicaTimeoutMs } = this.#options;
    if (wanted > 0) {
      const reached = await this.#calls.run(() =>
        this.#backend.waitForSend(
          { id, sender, receiver, retried: reply.code === 0 },
          wanted,
          replicaTimeoutMs,
        ),
      );
      if (reached < wanted) throw new NotReplicatedError(wanted, reached, replicaTimeoutMs);
    }
    return {
      message: {
        id,
        senderId: sender,
        receiverId: receiver,
        text: body,
        sentAt: parseTime(reply.timestamp),
        seen: reply.seen,
      },
      replayed: reply.code === 0,
    };
  }

  /** The messages a user received, oldest first: the newest page unless a cursor is given. */
  async listUserMessages(userId: string, paging?: Paging): Promise<MessagePage> {
    const id = validateId(userId, 'user id');
    return this.#messagePage([id], this.#keys.inbox(id), validatePaging(paging));
  }

  /**
   * The newest unseen messages a user received (at most `limit`), oldest first. Finds them
   * in bounded steps (an inbox walk on one Redis, the sets of unseen messages on a cluster:
   * ./unseen.ts) that stop once they hold every unseen message the counters know of, and
   * correct the counters where the steps find them wrong.
   */
  async listUnreadMessages(userId: string, options: { limit?: number } = {}): Promise<Message[]> {
    const id = validateId(userId, 'user id');
    const limit = validateLimit(options?.limit);
    const { total, bySender } = await this.unreadCount(id);
    const wanted = Math.min(limit, total);
    // Each step has a deadline of its own: a long walk takes many.
    const unread = await this.#backend.listUnseen(id, Object.keys(bySender), wanted, (step) =>
      this.#calls.run(step),
    );
    return unread.reverse();
  }

  /** The messages between two users in both directions, oldest first. */
  async listConversation(userId: string, otherId: string, paging?: Paging): Promise<MessagePage> {
    const id = validateId(userId, 'user id');
    const other = validateId(otherId, 'other user id');
    if (id === other) throw new ValidationError('a conversation is between two different users');
    return this.#messagePage(
      [id, other],
      this.#keys.conversation(id, other),
      validatePaging(paging),
    );
  }

  /** The people a user has exchanged messages with, most recent first. */
  async listConversations(
    userId: string,
    options: { limit?: number } = {},
  ): Promise<ConversationSummary[]> {
    const id = validateId(userId, 'user id');
    const limit = validateLimit(options?.limit);
    return conversationSummaries({
      client: this.#client,
      keys: this.#keys,
      run: (operation) => this.#calls.run(operation),
      requireUser: () => this.#requireUsers(id),
      userId: id,
      limit,
    });
  }

  // ---- seen and unread ---------------------------------------------------------------

  /** Marks messages the user received as seen; returns how many were unseen before. */
  async markSeen(userId: string, messageIds: string[]): Promise<number> {
    const id = validateId(userId, 'user id');
    if (!Array.isArray(messageIds))
      throw new ValidationError('messageIds must be an array of message ids');
    if (messageIds.length > MAX_PAGE_LIMIT) {
      throw new ValidationError(`mark at most ${MAX_PAGE_LIMIT} messages seen at once`);
    }
    const ids = [...new Set(messageIds.map((m) => validateId(m, 'message id')))];
    if (ids.length === 0) return 0;
    // The user check goes out with the write: for a user that does not exist the write
    // finds no message of theirs, so it changes nothing.
    const [, marked] = await this.#calls.run(() =>
      Promise.all([this.#requireUsers(id), this.#backend.writes.markSeen(id, ids)]),
    );
    if (marked > 0) this.#tell(id, seenBell({ messageIds: ids, marked }));
    return marked;
  }

  /** Marks seen every message `otherId` sent to `userId`; returns how many were unseen. */
  async markConversationSeen(userId: string, otherId: string): Promise<number> {
    const id = validateId(userId, 'user id');
    const other = validateId(otherId, 'other user id');
    // As in markSeen: without both users there is no conversation and no counter to change.
    // Each step of the walk has a deadline of its own: a long conversation takes many.
    const [, marked] = await Promise.all([
      this.#requireUsers(id, other),
      this.#backend.writes.markConversationSeen(id, other, (step) => this.#calls.run(step)),
    ]);
    if (marked > 0) this.#tell(id, seenBell({ with: other, marked }));
    return marked;
  }

  /** How many messages the user has not seen, in all and per sender. One read, no scan. */
  async unreadCount(userId: string): Promise<UnreadCount> {
    const id = validateId(userId, 'user id');
    const [, counts] = await this.#calls.run(() =>
      Promise.all([this.#requireUsers(id), this.#client.hGetAll(this.#keys.unread(id))]),
    );
    const bySender: Record<string, number> = {};
    let total = 0;
    for (const [sender, value] of Object.entries(counts)) {
      const count = Number(value);
      if (count > 0) {
        bySender[sender] = count;
        total += count;
      }
    }
    return { total, bySender };
  }

  // ---- contacts ----------------------------------------------------------------------

  /** Adds a contact; returns false if they already were one. */
  async addContact(userId: string, contactId: string): Promise<boolean> {
    const id = validateId(userId, 'user id');
    const contact = validateId(contactId, 'contact id');
    if (id === contact) throw new ValidationError('a user cannot be their own contact');
    const reply = await this.#calls.run(() => this.#backend.writes.addContact(id, contact));
    if (reply < 0) throw refusalError(reply, { first: id, second: contact });
    return reply === 1;
  }

  /** Removes a contact; returns false if they were not one. */
  async removeContact(userId: string, contactId: string): Promise<boolean> {
    const id = validateId(userId, 'user id');
    const contact = validateId(contactId, 'contact id');
    const [, removed] = await this.#calls.run(() =>
      Promise.all([this.#requireUsers(id), this.#client.sRem(this.#keys.contacts(id), contact)]),
    );
    return removed === 1;
  }

  /** A user's contacts, by username. Contact lists are small; this reads the whole set. */
  async listContacts(userId: string): Promise<User[]> {
    const id = validateId(userId, 'user id');
    const [, members] = await this.#calls.run(() =>
      Promise.all([this.#requireUsers(id), this.#client.sMembers(this.#keys.contacts(id))]),
    );
    const contacts = await this.#users(members);
    return contacts.sort((a, b) => a.username.localeCompare(b.username));
  }

  // ---- live delivery -----------------------------------------------------------------

  /**
   * Calls `handler` with every new message the user receives, in order, once each. With
   * `after` (a message id) it first delivers everything after that message; with
   * `fromFirst`, everything in the inbox. After a lost
   * connection it reconnects, catches up on what it missed, then goes on live.
   */
  async subscribe(
    userId: string,
    handler: (message: Message) => void | Promise<void>,
    options: SubscribeOptions = {},
  ): Promise<InboxSubscription> {
    const id = validateId(userId, 'user id');
    const after = options?.after === undefined ? undefined : validateId(options.after, 'after');
    if (after !== undefined && options.fromFirst)
      throw new ValidationError('subscribe takes after or fromFirst, not both');
    await this.#requireUsers(id);
    const inbox = this.#keys.inbox(id);
    const channel = this.#keys.inboxChannel(id);
    const client = this.#client;
    const coverage = await this.liveCoverage();
    const writesChannel = this.#keys.inboxWritesChannel(this.#database, id);
    const originalKeys = coverage.keyspaceNotifications !== 'not-needed';
    const subscription = await InboxSubscription.start({
      client,
      listen: (listener) => this.#backend.subscriber().listen(channel, listener),
      listenForWrites: coverage.listening
        ? (listener) => this.#backend.subscriber().listen(writesChannel, listener)
        : undefined,
      indexFound: originalKeys
        ? (items) => this.#calls.run(() => indexFoundMessages(this.#backend, id, items))
        : undefined,
      readLate: originalKeys ? (members) => readMessagesOf(this.#backend, members) : undefined,
      inbox,
      inboxMember: (messageId) => this.#keys.messageMember(messageId, id),
      handler,
      options: { ...options, after },
      readPage: (request) => this.#readMessages([id], inbox, request),
      run: (operation) => this.#calls.run(operation),
      onClose: (s) => this.#subscriptions.delete(s),
    });
    if (this.#closed) {
      // close() ran while this subscription was starting: it must not outlive the messenger.
      await subscription.close();
      throw new MessengerError('this messenger is closed');
    }
    // Aborted while it started: it closed itself, and is no longer the messenger's to close.
    if (!options?.signal?.aborted) this.#subscriptions.add(subscription);
    return subscription;
  }

  /**
   * What live delivery covers on this Redis: whether messages the original program writes
   * (it rings no doorbell) arrive live, through Redis keyspace notifications on sorted
   * sets (`notify-keyspace-events` with `K` and `z`, which the operator turns on), and a
   * one-line `summary` of what is live and what needs `reindex`. Read once (one
   * `CONFIG GET`, which may be refused: then `unknown`, and subscriptions listen anyway);
   * a setting changed later is seen by the next messenger.
   */
  liveCoverage(): Promise<LiveCoverage> {
    const client = this.#client;
    // The original program writes only one Redis's keys, without a namespace.
    const originalKeys = isCluster(client) || this.#keys.prefix !== '' ? undefined : client;
    this.#coverage ??= detectLiveCoverage(originalKeys, (operation) =>
      this.#calls.run(operation),
    ).then(
      (coverage) => {
        try {
          this.#options.onLiveCoverage?.(coverage);
        } catch {
          // The caller's logger failed; live delivery goes on.
        }
        return coverage;
      },
      (error: unknown) => {
        // Redis did not answer: the next call asks again.
        this.#coverage = undefined;
        throw error;
      },
    );
    return this.#coverage;
  }

  // ---- accounts ----------------------------------------------------------------------

  /** Users' password hashes and signed-in sessions (for a server in front of the messenger). */
  get accounts(): Accounts {
    this.#accounts ??= new Accounts({
      client: this.#client,
      keys: this.#keys,
      run: (operation) => this.#calls.run(operation),
      // Awaited, unlike other notices: a server that keeps sessions in memory forgets an
      // ended one only when it hears of it, so an ending must fail if Redis did not take it.
      tellSessionEnded: (userId, session) =>
        this.#calls.run(async () => {
          await Promise.all([
            this.#backend.publish(this.#keys.inboxChannel(userId), sessionEndedBell(session)),
            this.#backend.publish(
              this.#keys.endedSessionsChannel(),
              endedSessionNotice(userId, session),
            ),
          ]);
        }),
      listen: (channel, listener) => this.#backend.subscriber().listen(channel, listener),
    });
    return this.#accounts;
  }

  /** Rate-limit counters in Redis, shared by every process on it (for a server in front). */
  get rateLimits(): RateLimits {
    this.#rateLimits ??= new RateLimits({
      client: this.#client,
      keys: this.#keys,
      run: (operation) => this.#calls.run(operation),
    });
    return this.#rateLimits;
  }

  // ---- maintenance -------------------------------------------------------------------

  /**
   * Builds the new indexes for data the original program wrote (folded names, the user
   * index, conversations). Needed once, after moving from the original program; running
   * it again changes nothing. Reads and writes in small steps, each with the deadline of
   * one call (`commandTimeoutMs`), none overall: a step that fails ends it there.
   */
  async reindex(
    options: { onProgress?: (progress: ReindexProgress) => void } = {},
  ): Promise<ReindexReport> {
    if (this.#closed) throw new MessengerError('this messenger is closed');
    try {
      return await rebuildIndexes(
        this.#backend,
        (step) => this.#calls.run(step),
        options.onProgress,
      );
    } catch (error) {
      throw this.#calls.translate(error);
    }
  }

  // ---- inside ------------------------------------------------------------------------

  /**
   * Tells the user's channel (their other devices) what they did. Not awaited: it is a
   * notice, live only, and the write it tells of has succeeded whether or not it arrives.
   */
  #tell(userId: string, bell: string): void {
    this.#backend.publish(this.#keys.inboxChannel(userId), bell).catch(() => {});
  }

  /**
   * Runs `read`, and when its answer shows names the original program added since they
   * were last indexed (`stale`), indexes them and runs it again (up to `attempts` times).
   */
  async #withSeedNames<T>(
    read: () => Promise<T>,
    stale: (result: T) => boolean,
    attempts = 1,
  ): Promise<T> {
    let result = await read();
    for (let attempt = 0; attempt < attempts && stale(result); attempt++) {
      await this.#indexSeedNames();
      result = await read();
    }
    return result;
  }

  /** Indexes names the original program added; concurrent callers share one run. */
  async #indexSeedNames(): Promise<IndexNamesReport> {
    this.#indexingNames ??= indexSeedNames(this.#client, this.#keys).finally(() => {
      this.#indexingNames = undefined;
    });
    try {
      return await this.#indexingNames;
    } catch (error) {
      throw this.#calls.translate(error);
    }
  }

  /** Throws UserNotFoundError for the first id that names no user. */
  async #requireUsers(...ids: string[]): Promise<void> {
    const found = await this.#calls.run(() =>
      Promise.all(ids.map((id) => this.#client.exists(this.#keys.user(id)))),
    );
    const missing = ids.find((_, i) => found[i] === 0);
    if (missing !== undefined) throw new UserNotFoundError(missing);
  }

  /** A page of messages, checking in the same round trip that `users` exist. */
  async #readMessages(
    users: string[],
    index: string,
    request: PageRequest,
  ): Promise<StampedMessagePage> {
    const [, page] = await this.#calls.run(() =>
      Promise.all([
        this.#requireUsers(...users),
        readMessagePage(this.#backend, index, users, request),
      ]),
    );
    return page;
  }

  async #messagePage(users: string[], index: string, request: PageRequest): Promise<MessagePage> {
    return messagePageOf(await this.#readMessages(users, index, request));
  }

  /** Reads user hashes in one round trip, keeping their order and skipping missing ones. */
  async #users(ids: string[]): Promise<User[]> {
    const hashes = await this.#calls.run(() =>
      Promise.all(ids.map((id) => this.#client.hGetAll(this.#keys.user(id)))),
    );
    return hashes.flatMap((hash, i) => userFromHash(hash, ids[i] ?? '') ?? []);
  }
}
