/**
 * Where accounts live in Redis: a user's password hash and their signed-in sessions. Only
 * storage: hashing passwords, making tokens and choosing timeouts are the server's
 * (src/server/auth/). A session is named by the SHA-256 of its token; the token itself is
 * never stored. Every key of a user's account shares the user's hash slot on a cluster.
 * @module
 */

import { Refusal, UserNotFoundError, ValidationError } from '../errors.js';
import type { RedisConnection } from '../redis/connect.js';
import type { ChannelListener, Listening } from '../redis/subscriber.js';
import type { Keys } from './keys.js';
import { scripts } from './scripts.js';
import { validateId } from './validate.js';

/** A signed-in session, as stored. */
export interface Session {
  /** The SHA-256 (hex) of the session's token: its public name. */
  id: string;
  userId: string;
  createdAt: Date;
  lastSeenAt: Date;
  /** The absolute end: the session ends then however often it is used. */
  expiresAt: Date;
  userAgent: string;
  /** The token a browser must send back in a header on unsafe requests. */
  csrf: string;
}

export interface SessionTimeouts {
  /** A session unused for this long ends. */
  idleMs: number;
  /** A session ends this long after it began, however often it is used. */
  absoluteMs: number;
}

/** How often a used session records it: sliding the idle timeout on every request would be a write each. */
const TOUCH_EVERY_MS = 60_000;

const TOKEN_HASH = /^[0-9a-f]{64}$/;

/** The most sessions a user keeps: signing in past that ends the oldest. */
export const SESSIONS_PER_USER = 50;

function checkTokenHash(tokenHash: string): string {
  if (typeof tokenHash !== 'string' || !TOKEN_HASH.test(tokenHash))
    throw new ValidationError('a session id is 64 hexadecimal digits');
  return tokenHash;
}

/** What `watchEndedSessions` tells. Calls must return quickly: they run on the connection's path. */
export interface EndedSessionsListener {
  /** A session ended: logged out, revoked, ended by a password reset or by the cap. */
  ended(userId: string, sessionId: string): void;
  /** Endings elsewhere may be missed from now until `ready` (the connection is down). */
  lost(): void;
  /** Endings are heard again after a gap. */
  ready(): void;
}

export interface AccountParts {
  client: RedisConnection;
  keys: Keys;
  run: <T>(operation: () => Promise<T>) => Promise<T>;
  /**
   * Tells the user's channel (their live connections) and the ended-sessions channel
   * that one of their sessions ended; rejects when Redis did not take the notices.
   */
  tellSessionEnded: (userId: string, sessionId: string) => Promise<void>;
  /** Listens to a channel on the messenger's shared subscriber. */
  listen: (channel: string, listener: ChannelListener) => Promise<Listening>;
}

/** The ended-sessions channel's message: JSON `user_id`, `session`. */
export function endedSessionNotice(userId: string, sessionId: string): string {
  return JSON.stringify({ user_id: userId, session: sessionId });
}

function parseEndedSession(raw: string): { userId: string; sessionId: string } | null {
  try {
    const fields = JSON.parse(raw) as { user_id?: unknown; session?: unknown };
    return typeof fields.user_id === 'string' && typeof fields.session === 'string'
      ? { userId: fields.user_id, sessionId: fields.session }
      : null;
  } catch {
    return null;
  }
}

/** Passwords and sessions of users. Get it from `RedisMessenger.accounts`. */
export class Accounts {
  readonly #parts: AccountParts;
  /** This process's watchers, told of its own endings before they reach Redis. */
  readonly #watchers = new Set<EndedSessionsListener>();

  constructor(parts: AccountParts) {
    this.#parts = parts;
  }

  /** Stores a user's password hash (a PHC string), replacing any before. */
  async setPasswordHash(userId: string, hash: string): Promise<void> {
    userId = validateId(userId, 'user id');
    const { client, keys, run } = this.#parts;
    // Users are never deleted: a user that exists now still does when the hash is written.
    if ((await run(() => client.exists(keys.user(userId)))) === 0)
      throw new UserNotFoundError(userId);
    await run(() =>
      client.hSet(keys.account(userId), { password: hash, password_set_at: String(Date.now()) }),
    );
  }

  /** The user's password hash, or null when they have none (created without a password). */
  async passwordHash(userId: string): Promise<string | null> {
    userId = validateId(userId, 'user id');
    const { client, keys, run } = this.#parts;
    return (await run(() => client.hGet(keys.account(userId), 'password'))) ?? null;
  }

  /** Opens a session named by `tokenHash`; throws UserNotFoundError when the user does not exist. */
  async openSession(
    userId: string,
    tokenHash: string,
    details: { userAgent: string; csrf: string } & SessionTimeouts,
  ): Promise<Session> {
    userId = validateId(userId, 'user id');
    const { client, keys, run } = this.#parts;
    const hash = checkTokenHash(tokenHash);
    const now = Date.now();
    const reply = await run(() =>
      scripts.openSession.run(
        client,
        [keys.user(userId), keys.session(userId, hash), keys.sessions(userId)],
        [
          hash,
          String(now),
          String(details.idleMs),
          String(details.absoluteMs),
          details.userAgent.slice(0, 256),
          details.csrf,
          keys.session(userId, ''),
          String(SESSIONS_PER_USER),
        ],
      ),
    );
    if (reply === Refusal.FirstUserMissing) throw new UserNotFoundError(userId);
    // Sessions past the cap ended to make room: their sockets must close now, not at
    // the server's next recheck. Not awaited: the new session is open whether or not the
    // notices arrive, and a server that missed one drops the old session from its memory
    // within seconds anyway (src/server/auth/session-cache.ts).
    const ended = Array.isArray(reply) ? reply.slice(1) : [];
    for (const old of ended) this.#ended(userId, String(old)).catch(() => {});
    return {
      id: hash,
      userId,
      createdAt: new Date(now),
      lastSeenAt: new Date(now),
      expiresAt: new Date(now + details.absoluteMs),
      userAgent: details.userAgent.slice(0, 256),
      csrf: details.csrf,
    };
  }

  /**
   * The session, or null when it has ended (expired, revoked, never was). A session last
   * used over a minute ago records this use, sliding its idle timeout.
   */
  async session(userId: string, tokenHash: string, idleMs: number): Promise<Session | null> {
    userId = validateId(userId, 'user id');
    const { client, keys, run } = this.#parts;
    const hash = checkTokenHash(tokenHash);
    const fields = await run(() => client.hGetAll(keys.session(userId, hash)));
    const session = sessionOf(userId, hash, fields);
    const now = Date.now();
    if (!session || session.expiresAt.getTime() <= now) return null;
    if (now - session.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
      const touched = await run(() =>
        scripts.touchSession.run(
          client,
          [keys.session(userId, hash)],
          [String(now), String(idleMs)],
        ),
      );
      if (touched === 0) return null;
      session.lastSeenAt = new Date(now);
    }
    return session;
  }

  /** The user's sessions that have not ended, newest first (at most 100). */
  async sessions(userId: string): Promise<Session[]> {
    userId = validateId(userId, 'user id');
    const { client, keys, run } = this.#parts;
    const hashes = await run(() => client.zRange(keys.sessions(userId), 0, 99, { REV: true }));
    const all = await run(() =>
      Promise.all(hashes.map((hash) => client.hGetAll(keys.session(userId, hash)))),
    );
    const now = Date.now();
    return hashes.flatMap((hash, i) => {
      const session = sessionOf(userId, hash, all[i] ?? {});
      return session && session.expiresAt.getTime() > now ? [session] : [];
    });
  }

  /**
   * Ends every session of the user (a password reset: a thief's tokens must stop working
   * too); returns how many there were. Their live connections are told.
   */
  async endAllSessions(userId: string): Promise<number> {
    userId = validateId(userId, 'user id');
    const { client, keys, run } = this.#parts;
    const hashes = await run(() => client.zRange(keys.sessions(userId), 0, -1));
    if (hashes.length === 0) return 0;
    await run(() =>
      Promise.all([
        ...hashes.map((hash) => client.del(keys.session(userId, hash))),
        client.zRem(keys.sessions(userId), hashes),
      ]),
    );
    await Promise.all(hashes.map((hash) => this.#ended(userId, hash)));
    return hashes.length;
  }

  /** Ends a session; returns false when it had ended already. Its live connections are told. */
  async endSession(userId: string, tokenHash: string): Promise<boolean> {
    userId = validateId(userId, 'user id');
    const { client, keys, run } = this.#parts;
    const hash = checkTokenHash(tokenHash);
    const [deleted] = await run(() =>
      Promise.all([
        client.del(keys.session(userId, hash)),
        client.zRem(keys.sessions(userId), hash),
      ]),
    );
    // Told even when it had ended already: a retry after a notice that failed tells again.
    await this.#ended(userId, hash);
    return deleted === 1;
  }

  /**
   * Hears every session that ends: at once for this process's own endings, and through
   * the ended-sessions channel for every other process's on the same Redis. For a
   * server that keeps sessions in memory: it must forget one the moment it ends, and
   * distrust all it holds while it may miss endings (`lost` until `ready`).
   */
  async watchEndedSessions(listener: EndedSessionsListener): Promise<Listening> {
    const listening = await this.#parts.listen(this.#parts.keys.endedSessionsChannel(), {
      message: (raw) => {
        const ended = parseEndedSession(raw);
        if (ended) listener.ended(ended.userId, ended.sessionId);
      },
      lost: () => listener.lost(),
      ready: () => listener.ready(),
    });
    this.#watchers.add(listener);
    return {
      get isReady() {
        return listening.isReady;
      },
      close: async () => {
        this.#watchers.delete(listener);
        await listening.close();
      },
    };
  }

  /** Tells this process's watchers, then every listener through Redis, that a session ended. */
  async #ended(userId: string, sessionId: string): Promise<void> {
    for (const watcher of this.#watchers) {
      try {
        watcher.ended(userId, sessionId);
      } catch {
        // A watcher's own failure; the others are still told.
      }
    }
    await this.#parts.tellSessionEnded(userId, sessionId);
  }
}

function sessionOf(userId: string, id: string, fields: Record<string, string>): Session | null {
  if (fields.created_at === undefined || fields.expires_at === undefined) return null;
  return {
    id,
    userId,
    createdAt: new Date(Number(fields.created_at)),
    lastSeenAt: new Date(Number(fields.last_seen ?? fields.created_at)),
    expiresAt: new Date(Number(fields.expires_at)),
    userAgent: fields.user_agent ?? '',
    csrf: fields.csrf ?? '',
  };
}
