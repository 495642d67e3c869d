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
import { KnownTokens, type NamedToken } from './tokens.js';

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

/** The session a token named, read from Redis with its user (kept when it may be); throws 401 when there is none. */
async function authenticate(
  messenger: RedisMessenger,
  sessions: SessionCache,
  named: NamedToken,
  idleMs: number,
): Promise<SignedIn> {
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

/**
 * The onRequest hook: every route but the public ones needs a session. Written with
 * `done` rather than as an async function: a request whose session this process holds
 * in memory, with no limit to charge in Redis (a send's is charged in the send), is let
 * through at once, without a promise or a turn of the event loop for each step (the
 * guard was a twentieth of a send's CPU in the server; docs/performance.md).
 */
export function guard(options: GuardOptions) {
  const { rates, sessions, idleMs } = options;
  const known = new KnownTokens();

  /** Refuses with `error`; guessing tokens is a request without a session too: counted by address. */
  const refuse = async (request: FastifyRequest, error: unknown): Promise<never> => {
    if (error instanceof HttpError && error.status === 401) await rates?.anonymous(request.ip);
    throw error;
  };

  /** What the caller may do: the checks that need no Redis, then the request window. */
  const admit = (
    request: FastifyRequest,
    caller: Caller,
    config: FastifyRequest['routeOptions']['config'],
  ): Promise<void> | undefined => {
    const upgrade = config.live === true;
    if (upgrade) {
      // Browsers send the cookie with any site's WebSocket (CSWSH), and always an Origin.
      checkOrigin(request, options.origins);
      if (caller.via === 'cookie' && request.headers.origin === undefined)
        throw new HttpError(403, 'origin_refused', 'a browser request must say its Origin');
    }
    // Before the limits are charged: a forged request must not spend the victim's.
    if (caller.via === 'cookie' && !SAFE_METHODS.has(request.method)) {
      checkOrigin(request, options.origins);
      if (request.headers.origin === undefined)
        throw new HttpError(403, 'origin_refused', 'a browser request must say its Origin');
      const csrf = request.headers['x-csrf-token'];
      if (typeof csrf !== 'string' || !sameText(csrf, caller.session.csrf))
        throw new HttpError(403, 'csrf', 'the X-CSRF-Token header is missing or wrong');
    }
    // A send takes its token from the user's bucket itself (messages.ts): in the same
    // round trip as the send when it needs no lookup first.
    if (!upgrade && rates && !config.sends)
      return rates.request(caller.user.id).then(() => {
        request.caller = caller;
      });
    request.caller = caller;
    return undefined;
  };

  /** Finds the caller by their token: at once when the session is held in memory. */
  const signIn = (
    request: FastifyRequest,
    config: FastifyRequest['routeOptions']['config'],
  ): Promise<void> | undefined => {
    const found = tokenOf(request, options.cookieName);
    const named = found && known.read(found.token);
    if (!found || !named)
      return refuse(request, new HttpError(401, 'unauthorized', 'log in first'));
    const held = sessions.held(named.userId, named.hash, idleMs);
    if (held) return admit(request, { ...held, via: found.via }, config);
    return authenticate(options.messenger, sessions, named, idleMs).then(
      (signedIn) => {
        known.keep(found.token, named);
        return admit(request, { ...signedIn, via: found.via }, config);
      },
      (error: unknown) => {
        known.forget(found.token);
        return refuse(request, error);
      },
    );
  };

  /** The whole check: undefined when it is done already, else a promise of it. */
  const check = (request: FastifyRequest): Promise<void> | undefined => {
    // Read once: Fastify builds routeOptions afresh at every read.
    const { config } = request.routeOptions;
    if (config.public) {
      // Logging someone in to an account of the attacker's is a forgery too.
      if (!SAFE_METHODS.has(request.method)) checkOrigin(request, options.origins);
      return rates?.anonymous(request.ip);
    }
    if (config.live === true && rates)
      return rates.upgrade(request.ip).then(() => signIn(request, config));
    return signIn(request, config);
  };

  return (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void => {
    let pending: Promise<void> | undefined;
    try {
      pending = check(request);
    } catch (error) {
      done(error as Error);
      return;
    }
    // A rejection without an Error (a bug) must still refuse, never let the request through.
    if (pending)
      pending.then(
        () => done(),
        (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
      );
    else done();
  };
}

/** The caller of a guarded route. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new HttpError(401, 'unauthorized', 'log in first');
  return request.caller;
}
