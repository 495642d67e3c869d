/**
 * Every error the messenger throws on purpose. Each has a fixed `name`, a message a
 * person can act on, and keeps the underlying error as `cause` where there is one.
 * @module
 */

/** The base of every error thrown by redis-messenger. */
export class MessengerError extends Error {
  override name = 'MessengerError';
}

/** An argument was malformed: an empty text, a bad id, a limit out of range, ... */
export class ValidationError extends MessengerError {
  override name = 'ValidationError';
}

/** `createUser` was asked for a name that already belongs to someone. */
export class UsernameTakenError extends MessengerError {
  override name = 'UsernameTakenError';
  constructor(readonly username: string) {
    super(`the username "${username}" is already taken`);
  }
}

/** An operation named a user id that does not exist. */
export class UserNotFoundError extends MessengerError {
  override name = 'UserNotFoundError';
  constructor(readonly userId: string) {
    super(`no user has the id ${userId}`);
  }
}

/** A caller-supplied message id was already used for a different message. */
export class MessageIdConflictError extends MessengerError {
  override name = 'MessageIdConflictError';
  constructor(readonly messageId: string) {
    super(`the message id ${messageId} was already used for a different message`);
  }
}

/** A paging cursor does not name a message (or user) of the list being paged. */
export class CursorNotFoundError extends ValidationError {
  override name = 'CursorNotFoundError';
  constructor(readonly cursor: string) {
    super(`the cursor ${cursor} is not an entry of this list`);
  }
}

/** Redis could not be reached, or the connection to it was lost. */
export class RedisUnavailableError extends MessengerError {
  override name = 'RedisUnavailableError';
  constructor(
    readonly target: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach Redis at ${target}: is it running, and is the URL right?`, options);
  }
}

/** Why a Redis that answered would not take the connection (`RedisRefusedError.reason`). */
export type RefusalReason =
  | 'wrong-password'
  | 'password-required'
  | 'no-such-database'
  | 'max-clients'
  | 'other';

/**
 * Redis answered, and refused the connection: a wrong or missing password, a database
 * number it does not have, or its connection limit (`maxclients`) reached. Unlike
 * RedisUnavailableError, trying again as it is will not help (except at the connection
 * limit, once other clients leave). `redisSaid` is Redis's own words.
 */
export class RedisRefusedError extends MessengerError {
  override name = 'RedisRefusedError';
  readonly reason: RefusalReason;
  constructor(
    readonly target: string,
    readonly redisSaid: string,
    options?: { cause?: unknown },
  ) {
    const reason = refusalReason(redisSaid);
    const advice = REFUSAL_ADVICE[reason];
    // Redis's NOAUTH to HELLO goes on to explain HELLO's AUTH option, which is ours to use.
    const said = redisSaid.replace(/, otherwise the HELLO AUTH.*$/s, '');
    super(
      `Redis at ${target} refused the connection: ${said.replace(/\.$/, '')}${advice ? `; ${advice}` : ''}`,
      options,
    );
    this.reason = reason;
  }
}

/** What to do about each refusal, in the library's words (the CLI adds where to change it). */
const REFUSAL_ADVICE: Record<RefusalReason, string> = {
  'wrong-password': 'check the user name and password in the URL',
  'password-required':
    'this Redis needs a password: put it in the URL before the host, after a colon (and a user name before the colon, if Redis has users)',
  'no-such-database': 'use a database number this Redis has, e.g. /0 at the end of the URL',
  'max-clients':
    'Redis has as many connections as its maxclients allows: try again once others close, or raise maxclients',
  other: '',
};

function refusalReason(redisSaid: string): RefusalReason {
  if (/^WRONGPASS\b/.test(redisSaid)) return 'wrong-password';
  if (/^NOAUTH\b/.test(redisSaid)) return 'password-required';
  if (/DB index is out of range/i.test(redisSaid)) return 'no-such-database';
  if (/max number of clients/i.test(redisSaid)) return 'max-clients';
  return 'other';
}

/**
 * Redis did not answer in time. The command may still have run: a send that timed out
 * is safe to retry with the same `messageId`.
 */
export class RedisTimeoutError extends MessengerError {
  override name = 'RedisTimeoutError';
  constructor(
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`Redis did not answer within ${timeoutMs} ms`, options);
  }
}

/**
 * A message was stored, but not copied to as many replicas as `waitForReplicas` asks
 * within `replicaTimeoutMs`: if its master failed now, it could be lost. Sending again
 * with the same `messageId` is safe, and waits again.
 */
export class NotReplicatedError extends MessengerError {
  override name = 'NotReplicatedError';
  constructor(
    readonly wanted: number,
    readonly reached: number,
    readonly timeoutMs: number,
  ) {
    super(
      `the message reached ${reached} of ${wanted} replica(s) within ${timeoutMs} ms; sending it again with the same id is safe`,
    );
  }
}

/**
 * Whether a write that failed with this error may still have happened, or may not be
 * safe yet: the connection dropped, Redis did not answer in time, or too few replicas
 * have it. Retry a send with the same `messageId`.
 */
export function isUnconfirmed(error: unknown): boolean {
  return (
    error instanceof RedisTimeoutError ||
    error instanceof RedisUnavailableError ||
    error instanceof NotReplicatedError
  );
}

/** Redis answered with an error we cannot turn into anything more specific (e.g. OOM). */
export class RedisCommandError extends MessengerError {
  override name = 'RedisCommandError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`Redis refused the command: ${message}`, options);
  }
}

/** The embedded default needs a redis-server binary, and none is on PATH. */
export class RedisServerNotInstalledError extends MessengerError {
  override name = 'RedisServerNotInstalledError';
  constructor(options?: { cause?: unknown }) {
    super(
      'redis-server is not installed: install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) or point REDIS_URL at a Redis',
      options,
    );
  }
}

/** A username that belongs to nobody (compared as names are: NFKC, case folded). */
export class UsernameNotFoundError extends MessengerError {
  override name = 'UsernameNotFoundError';
  constructor(readonly username: string) {
    super(`no user is named "${username}"`);
  }
}

/**
 * Data in Redis that the messenger cannot use: a key of the wrong type, an index entry
 * that names no user. Something other than this library wrote it (or removed what it
 * needs); the message names the key. A write refused with it wrote nothing.
 */
export class BadDataError extends MessengerError {
  override name = 'BadDataError';
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`bad data in Redis: ${key} ${problem}`);
  }
}

/**
 * What a write's negative reply means: the messenger's Lua scripts reply with these
 * (each script's header says which of them it can), the cluster's multi-step writes
 * reply with the same, and `refusalError` turns one into its error, here only.
 */
export enum Refusal {
  /** The first user a write names does not exist (a send's sender, a contact's owner). */
  FirstUserMissing = -1,
  /** The second does not (a send's receiver, the contact). */
  SecondUserMissing = -2,
  /** A caller-supplied message id already belongs to another message. */
  MessageIdTaken = -3,
  /** A key the write would touch holds another type (bad data); nothing was written. */
  BadData = -4,
  /** The sender's send bucket is empty (SendOptions.limit); nothing was written. */
  SendLimited = -5,
}

/** createUser's replies, where they differ: the name is someone's; or names are not indexed yet. */
export enum NameRefusal {
  Taken = -1,
  NotIndexed = -2,
}

/** The error a refusal means, for the users (`first`, `second`) or message the write named. */
export function refusalError(
  refusal: Refusal,
  named: { first?: string; second?: string; messageId?: string },
): MessengerError {
  switch (refusal) {
    case Refusal.FirstUserMissing:
      return new UserNotFoundError(named.first ?? '');
    case Refusal.SecondUserMissing:
      return new UserNotFoundError(named.second ?? '');
    case Refusal.MessageIdTaken:
      return new MessageIdConflictError(named.messageId ?? '');
    default:
      return new MessengerError(`the write was refused (${refusal})`);
  }
}

// ---- a client of the server (src/client/) ------------------------------------------

/** The server did not answer: nothing listens at its address, or the network is down, or it took too long. */
export class ServerUnreachableError extends MessengerError {
  override name = 'ServerUnreachableError';
  constructor(
    readonly url: string,
    options?: { cause?: unknown; timeoutMs?: number },
  ) {
    super(
      options?.timeoutMs === undefined
        ? `cannot reach the server at ${url}: is it running, and is the address right?`
        : `the server at ${url} did not answer within ${options.timeoutMs} ms`,
      options,
    );
  }
}

/**
 * The session is over (it expired, it was logged out here or elsewhere, or it was revoked),
 * or there never was one: nothing but logging in again helps.
 */
export class SessionEndedError extends MessengerError {
  override name = 'SessionEndedError';
  constructor(options?: { cause?: unknown }) {
    super('your session has ended (expired, logged out or revoked): log in again', options);
  }
}

/**
 * Too many for now: the server refused a request (a 429), or a send with a `limit` found
 * the sender's bucket empty and stored nothing. `retryAfterMs` says how long to wait.
 */
export class RateLimitedError extends MessengerError {
  override name = 'RateLimitedError';
  constructor(
    readonly retryAfterMs: number,
    said = 'too many requests',
  ) {
    super(`${said.replace(/\.$/, '')}: try again in ${waitInWords(retryAfterMs)}`);
  }
}

/** The server is up but cannot reach its store now (a 503). Trying again later may help. */
export class ServerUnavailableError extends MessengerError {
  override name = 'ServerUnavailableError';
  constructor(readonly retryAfterMs: number) {
    super(`the server cannot reach its store now: try again in ${waitInWords(retryAfterMs)}`);
  }
}

/**
 * The server refused a request for a reason no other error names (a wrong password, a
 * contact that is not one, a refused origin...): `status` and `code` are the server's,
 * the message is the server's own words.
 */
export class ServerRefusedError extends MessengerError {
  override name = 'ServerRefusedError';
  constructor(
    readonly status: number,
    readonly code: string,
    said: string,
  ) {
    super(said);
  }
}

/**
 * The server speaks an older API than this client needs (or gives no API version: it
 * predates them, or it is not a redis-messenger server). Upgrading the server helps.
 */
export class ServerTooOldError extends MessengerError {
  override name = 'ServerTooOldError';
  constructor(
    readonly url: string,
    /** The API version the server gave, or null when it gave none. */
    readonly apiVersion: number | null,
    readonly needed: number,
  ) {
    super(
      `the server at ${url} is too old for this client (${apiVersion === null ? 'it gives no API version' : `its API version is ${apiVersion}`}; this client needs ${needed} or later): upgrade the server, or check the address`,
    );
  }
}

/**
 * The Redis Cluster holds the messenger's keys in a layout this version does not use: the
 * first cluster layout (a message and a conversation each in a slot of their own), which
 * `messenger migrate` moves to this one, or one it does not know (a newer version's).
 */
export class ClusterLayoutError extends MessengerError {
  override name = 'ClusterLayoutError';
  constructor(
    readonly target: string,
    /** The layout marker found: null for none (layout 1, which had no marker). */
    readonly found: string | null,
  ) {
    super(
      found === null
        ? `the Redis Cluster at ${target} holds messenger data in cluster layout 1, which this version no longer reads: stop every messenger that uses it, then run \`messenger migrate\` once (docs/schema.md, "Moving from layout 1")`
        : found === 'migrating' // src/core/cluster-layout.ts, MIGRATING
          ? `a \`messenger migrate\` of the Redis Cluster at ${target} has not finished: run it again to finish it`
          : `the Redis Cluster at ${target} holds messenger data in cluster layout ${found}, which this version does not know: use the version that wrote it, or a newer one`,
    );
  }
}

/** "3 s", "2 min": how long a person is asked to wait. */
function waitInWords(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  return `${Math.ceil(seconds / 60)} min`;
}
