/**
 * Who a request is, and whether it may do what it asks: a session token from
 * `Authorization: Bearer` (the CLI, apps) or from the session cookie (the web page). A
 * cookie-authenticated request that changes something must also come from an allowed
 * Origin and carry the session's CSRF token in `X-CSRF-Token`, since a browser sends the
 * cookie along with requests other sites make it send.
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RedisMessenger, Session, User } from '../../index.js';
import { HttpError } from '../errors.js';
import type { RatePolicy } from './rate-limits.js';
import type { SessionCache, SignedIn } from './session-cache.js';
import { readToken } from './tokens.js';

/** The signed-in user of a request. */
export interface Caller {
  user: User;
  session: Session;
  /** How the token came: a cookie needs the CSRF checks, a bearer token does not. */
  via: 'cookie' | 'bearer';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the guard on every route that is not public. */
    caller?: Caller;
  }
  interface FastifyContextConfig {
    /** Reachable without a session (register, login, health). */
    public?: boolean;
    /** Sends a message: limited by the user's send bucket instead of their request window. */
    sends?: boolean;
    /**
     * The live channel (a WebSocket upgrade): limited by upgrades per address, and its
     * Origin checked whatever the credential. Marked on the route, never read from the
     * request's own headers: an `Upgrade` header on an ordinary request must not change
     * which limits apply.
     */
    live?: boolean;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface GuardOptions {
  messenger: RedisMessenger;
  /** Origins allowed for browsers, exactly (scheme://host[:port]). */
  origins: ReadonlySet<string>;
  cookieName: string;
  idleMs: number;
  /** The rate limits; null when they are off. */
  rates: RatePolicy | null;
  /** The sessions this process read lately. */
  sessions: SessionCache;
}

export function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The token a request carries, and how. */
export function tokenOf(
  request: FastifyRequest,
  cookieName: string,
): { token: string; via: Caller['via'] } | null {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer (\S+)$/i.exec(header);
    return match?.[1] ? { token: match[1], via: 'bearer' } : null;
  }
  const cookie = request.cookies?.[cookieName];
  return cookie ? { token: cookie, via: 'cookie' } : null;
}

/** Refuses a browser request made by another site (an Origin not in the allowlist). */
export function checkOrigin(request: FastifyRequest, origins: ReadonlySet<string>): void {
  if (request.headers['sec-fetch-site'] === 'cross-site')
    throw new HttpError(403, 'origin_refused', 'requests from other sites are refused');
  const origin = request.headers.origin;
  if (origin !== undefined && !origins.has(origin))
    throw new HttpError(403, 'origin_refused', `the origin ${origin} is not allowed`);
}

/** The session a token names, with its user; throws 401 when there is none. */
export async function authenticate(
  messenger: RedisMessenger,
  sessions: SessionCache,
  token: string,
  idleMs: number,
): Promise<SignedIn> {
  const named = readToken(token);
  if (!named) throw new HttpError(401, 'unauthorized', 'log in first');
  const signedIn = await sessions.signedIn(named.userId, named.hash, idleMs, async () => {
    const [session, user] = await Promise.all([
      messenger.accounts.session(named.userId, named.hash, idleMs),
      messenger.getUser(named.userId),
    ]);
    return session && user ? { user, session } : null;
  });
  if (!signedIn) throw new HttpError(401, 'session_ended', 'your session has ended: log in again');
  return signedIn;
}

/** The onRequest hook: every route but the public ones needs a session. */
export function guard(options: GuardOptions) {
  const { rates } = options;
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const unsafe = !SAFE_METHODS.has(request.method);
    // Read once: Fastify builds routeOptions afresh at every read.
    const { config } = request.routeOptions;
    if (config.public) {
      // Logging someone in to an account of the attacker's is a forgery too.
      if (unsafe) checkOrigin(request, options.origins);
      await rates?.anonymous(request.ip);
      return;
    }
    const upgrade = config.live === true;
    if (upgrade) await rates?.upgrade(request.ip);
    let caller: Caller;
    try {
      const found = tokenOf(request, options.cookieName);
      if (!found) throw new HttpError(401, 'unauthorized', 'log in first');
      const signedIn = await authenticate(
        options.messenger,
        options.sessions,
        found.token,
        options.idleMs,
      );
      caller = { ...signedIn, via: found.via };
    } catch (error) {
      // Guessing tokens is a request without a session too: counted by address.
      if (error instanceof HttpError && error.status === 401) await rates?.anonymous(request.ip);
      throw error;
    }
    const { user, session, via } = caller;
    if (upgrade) {
      // Browsers send the cookie with any site's WebSocket (CSWSH), and always an Origin.
      checkOrigin(request, options.origins);
      if (via === 'cookie' && request.headers.origin === undefined)
        throw new HttpError(403, 'origin_refused', 'a browser request must say its Origin');
    }
    // Before the limits are charged: a forged request must not spend the victim's.
    if (via === 'cookie' && unsafe) {
      checkOrigin(request, options.origins);
      if (request.headers.origin === undefined)
        throw new HttpError(403, 'origin_refused', 'a browser request must say its Origin');
      const csrf = request.headers['x-csrf-token'];
      if (typeof csrf !== 'string' || !sameText(csrf, session.csrf))
        throw new HttpError(403, 'csrf', 'the X-CSRF-Token header is missing or wrong');
    }
    // A send takes its token from the user's bucket itself (messages.ts): in the same
    // round trip as the send when it needs no lookup first.
    if (!upgrade && rates && !config.sends) await rates.request(user.id);
    request.caller = caller;
  };
}

/** The caller of a guarded route. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new HttpError(401, 'unauthorized', 'log in first');
  return request.caller;
}
