/**
 * The sessions this process read lately, kept in memory so that a request whose session
 * it knows costs no Redis round trip: a send is then one round trip, not two. Mattermost
 * keeps its sessions the same way, and clears a user's on every node when one ends.
 *
 * A cache of who may do what must never outlive a revocation. So an entry is used only
 * - while the process listens to the ended-sessions channel: every ending, here or in
 *   another process on the Redis, removes its entry the moment it is heard; when the
 *   connection drops (endings may be missed) every entry goes, and none is kept until it
 *   listens again;
 * - when no ending was heard while it was being read from Redis (a read that began
 *   before a logout may return the session the logout removed);
 * - while the session is still open by its own times (absolute end, idle timeout);
 * - for at most MAX_AGE_MS after its read: what changes without a notice (a session key
 *   deleted by hand) is seen that soon, and the read slides the idle timeout as before.
 * @module
 */
import type { Accounts, Listening, Session, User } from '../../index.js';

/** A session and its user, as a request's guard found them. */
export interface SignedIn {
  user: User;
  session: Session;
}

/** How long an entry is used after Redis was read for it. */
export const MAX_AGE_MS = 5_000;
/** The most entries kept: past it the oldest goes (a few hundred bytes each). */
export const MAX_ENTRIES = 10_000;
/** How long to wait before listening again after the first attempt failed (Redis down at start). */
const RETRY_LISTEN_MS = 1_000;

interface Entry {
  signedIn: SignedIn;
  readAt: number;
}

const entryKey = (userId: string, sessionId: string) => `${userId}:${sessionId}`;

/** Whether the session is still open by its own times at `now`. */
function open(session: Session, now: number, idleMs: number): boolean {
  return session.expiresAt.getTime() > now && now - session.lastSeenAt.getTime() <= idleMs;
}

export class SessionCache {
  readonly #accounts: Accounts;
  readonly #entries = new Map<string, Entry>();
  /** Counts every ending heard and every gap: a read that saw it change is not kept. */
  #generation = 0;
  /** Whether endings are heard now (the channel is listened to on a live connection). */
  #trusted = false;
  #listening: Promise<Listening | null> | null = null;
  /** Set once Redis confirmed the channel: before that a `ready` must not make entries trusted. */
  #heard = false;
  #retryAt = 0;
  #closed = false;

  constructor(accounts: Accounts) {
    this.#accounts = accounts;
  }

  /** How many entries are kept now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether entries are used now (endings are heard). */
  get trusted(): boolean {
    return this.#trusted;
  }

  /**
   * The session `sessionId` of `userId` with its user when an entry may be used now, at
   * once (no promise: the guard answers most requests without waiting a turn); undefined
   * when Redis must be read (`signedIn`).
   */
  held(userId: string, sessionId: string, idleMs: number): SignedIn | undefined {
    this.#listen();
    const now = Date.now();
    const entry = this.#entries.get(entryKey(userId, sessionId));
    if (entry && now - entry.readAt < MAX_AGE_MS && open(entry.signedIn.session, now, idleMs))
      return entry.signedIn;
    return undefined;
  }

  /**
   * The session `sessionId` of `userId` with its user, or null when it has ended: from
   * memory when an entry may be used, else from `read` (Redis), kept when it may be.
   */
  async signedIn(
    userId: string,
    sessionId: string,
    idleMs: number,
    read: () => Promise<SignedIn | null>,
  ): Promise<SignedIn | null> {
    const held = this.held(userId, sessionId, idleMs);
    if (held) return held;
    const key = entryKey(userId, sessionId);
    const now = Date.now();
    const generation = this.#generation;
    const found = await read();
    this.#entries.delete(key);
    if (found && this.#trusted && generation === this.#generation) {
      if (this.#entries.size >= MAX_ENTRIES) {
        const oldest = this.#entries.keys().next().value;
        if (oldest !== undefined) this.#entries.delete(oldest);
      }
      this.#entries.set(key, { signedIn: found, readAt: now });
    }
    return found;
  }

  /** Stops listening; nothing is kept after. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#forgetAll();
    const listening = await this.#listening?.catch(() => null);
    await listening?.close().catch(() => {});
  }

  /** Starts listening to endings, once (again a second later when Redis refused). */
  #listen(): void {
    if (this.#listening || this.#closed || Date.now() < this.#retryAt) return;
    this.#listening = this.#accounts
      .watchEndedSessions({
        ended: (userId, sessionId) => {
          this.#generation++;
          this.#entries.delete(entryKey(userId, sessionId));
        },
        lost: () => this.#forgetAll(),
        ready: () => {
          this.#generation++;
          this.#trusted = this.#heard && !this.#closed;
        },
      })
      .then(
        (listening) => {
          if (this.#closed) {
            void listening.close().catch(() => {});
            return null;
          }
          // A read begun before the channel was listened to may hold an ending it missed.
          this.#generation++;
          this.#heard = true;
          this.#trusted = listening.isReady;
          return listening;
        },
        () => {
          // Redis did not confirm: every request reads it meanwhile; try again later.
          this.#forgetAll();
          this.#listening = null;
          this.#retryAt = Date.now() + RETRY_LISTEN_MS;
          return null;
        },
      );
  }

  #forgetAll(): void {
    this.#trusted = false;
    this.#generation++;
    this.#entries.clear();
  }
}
