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
export function readToken(token: string): { userId: string; hash: string } | null {
  const match = TOKEN.exec(token);
  return match?.[1] ? { userId: match[1], hash: tokenHash(token) } : null;
}
