/**
 * Session tokens: `msg_<user id>_<43 characters>`, 256 random bits. The user id inside
 * names where the session is stored (in the user's hash slot on a cluster); Redis holds
 * only the token's SHA-256, so a copy of Redis signs nobody in.
 * @module
 */
import * as crypto from 'node:crypto';

const TOKEN =
  /^msg_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** A new token for the user. */
export function newToken(userId: string): string {
  return `msg_${userId}_${crypto.randomBytes(32).toString('base64url')}`;
}

/** A new CSRF token for a session. */
export function newCsrfToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** The SHA-256 (hex) of a token: the session's name in Redis and its public id. */
export function tokenHash(token: string): string {
  return oneShotHash ? oneShotHash('sha256', token, 'hex') : hashObject(token);
}

/**
 * `crypto.hash` (Node 20.12, 21.7): a Hash object per request cost more than the hashing
 * itself. Looked up, not imported by name, so that an older Node still starts.
 */
const oneShotHash = (crypto as { hash?: typeof crypto.hash }).hash;

function hashObject(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

/** The user id and hash of a well-formed token, or null. */
export function readToken(token: string): NamedToken | null {
  const match = TOKEN.exec(token);
  return match?.[1] ? { userId: match[1], hash: tokenHash(token) } : null;
}

/** What a well-formed token names: its user, and its session by hash. */
export interface NamedToken {
  userId: string;
  hash: string;
}

/**
 * What `readToken` said of the tokens of sessions found lately, kept in memory (as
 * Mattermost keeps its sessions by token): a request with a known token is not hashed
 * again (the hash was a thirtieth of a send's CPU in the server). It remembers a pure
 * function's answers: whether the session is open is asked every time all the same. Only
 * tokens whose session was found are kept (`keep`), so made-up ones cannot push the
 * others out; at most `max`, the oldest going first; a token whose session ended is
 * forgotten (`forget`).
 */
export class KnownTokens {
  readonly #named = new Map<string, NamedToken>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** How many tokens are kept now. */
  get size(): number {
    return this.#named.size;
  }

  /** What `token` names: from memory when it is known, else `readToken`. */
  read(token: string): NamedToken | null {
    return this.#named.get(token) ?? readToken(token);
  }

  /** Keeps what `token` names: its session was found. */
  keep(token: string, named: NamedToken): void {
    if (this.#named.has(token)) return;
    if (this.#named.size >= this.#max) {
      const oldest = this.#named.keys().next().value;
      if (oldest !== undefined) this.#named.delete(oldest);
    }
    this.#named.set(token, named);
  }

  forget(token: string): void {
    this.#named.delete(token);
  }
}
