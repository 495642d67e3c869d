/**
 * The server's rate limits: which there are, their numbers, and whom each counts. The
 * counters live in Redis (`messenger.rateLimits`), so every instance on one Redis shares
 * them. A refusal is a 429 with `Retry-After` (seconds) and `retry_after_ms`.
 *
 * Logins are limited three ways, so that guessing is slow while the owner of a name is
 * hard to lock out:
 * - a name from one address: 10 failures in a row block that pair for an hour (the
 *   attacker's own address, never the owner's);
 * - a name from anywhere: 5 failures in 15 minutes lock the name for 1 minute, then 2, 4
 *   … up to 60; a success ends it, failures during a lockout do not count, and an address
 *   that signed in to the name in the last 30 days is not locked out by it (only by its
 *   own pair block);
 * - an address, whatever the name: 100 failures a day.
 * Names are counted whether or not a user has them, so a lockout tells nobody which exist.
 * @module
 */
import type { BucketLimit, RateLimitedError, RateLimits } from '../../index.js';
import { HttpError } from '../errors.js';

/** Every number of the rate limits; each is a `createServer` option, a flag and an environment variable. */
export interface RateLimitOptions {
  /** Failed logins in a row for one name from one address before that pair is blocked. @defaultValue 10 */
  loginFailuresPerNameAndAddress: number;
  /** How long that block lasts, in seconds. @defaultValue 3600 */
  loginBlockSeconds: number;
  /** Failed logins for one name, from any address, within 15 minutes before it is locked. @defaultValue 5 */
  loginFailuresPerName: number;
  /** The first lockout of a name, in seconds; each next one doubles. @defaultValue 60 */
  loginLockoutSeconds: number;
  /** The longest lockout of a name, in seconds. @defaultValue 3600 */
  loginLockoutMaxSeconds: number;
  /** Failed logins from one address per day, whatever the names. @defaultValue 100 */
  loginFailuresPerAddressPerDay: number;
  /** Registrations from one address per hour. @defaultValue 5 */
  registrationsPerAddressPerHour: number;
  /** Messages a user may send at once (the token bucket's size). @defaultValue 20 */
  sendBurst: number;
  /** Messages a user may send per second, in the long run. @defaultValue 1 */
  sendsPerSecond: number;
  /** Other requests of one user per 10 seconds. @defaultValue 100 */
  requestsPerUserPer10Seconds: number;
  /** Requests without a session (register, login, refused ones) from one address per minute. @defaultValue 60 */
  requestsPerAddressPerMinute: number;
  /** Live-channel upgrades from one address per minute. @defaultValue 20 */
  upgradesPerAddressPerMinute: number;
}

/** The defaults (research/server.md's table). */
export const RATE_LIMIT_DEFAULTS: Readonly<RateLimitOptions> = Object.freeze({
  loginFailuresPerNameAndAddress: 10,
  loginBlockSeconds: 3600,
  loginFailuresPerName: 5,
  loginLockoutSeconds: 60,
  loginLockoutMaxSeconds: 3600,
  loginFailuresPerAddressPerDay: 100,
  registrationsPerAddressPerHour: 5,
  sendBurst: 20,
  sendsPerSecond: 1,
  requestsPerUserPer10Seconds: 100,
  requestsPerAddressPerMinute: 60,
  upgradesPerAddressPerMinute: 20,
});

/** The flag and environment variable of each number (`messenger serve`), and what it is. */
export const RATE_LIMIT_FLAGS: Readonly<
  Record<keyof RateLimitOptions, { flag: string; env: string; what: string }>
> = {
  loginFailuresPerNameAndAddress: {
    flag: 'login-failures-per-name-and-address',
    env: 'MESSENGER_LOGIN_FAILURES_PER_NAME_AND_ADDRESS',
    what: 'failed logins in a row for a name from one address before that pair is blocked',
  },
  loginBlockSeconds: {
    flag: 'login-block-seconds',
    env: 'MESSENGER_LOGIN_BLOCK_SECONDS',
    what: 'how long that block lasts',
  },
  loginFailuresPerName: {
    flag: 'login-failures-per-name',
    env: 'MESSENGER_LOGIN_FAILURES_PER_NAME',
    what: 'failed logins for a name within 15 minutes before it is locked',
  },
  loginLockoutSeconds: {
    flag: 'login-lockout-seconds',
    env: 'MESSENGER_LOGIN_LOCKOUT_SECONDS',
    what: "a name's first lockout (each next one doubles)",
  },
  loginLockoutMaxSeconds: {
    flag: 'login-lockout-max-seconds',
    env: 'MESSENGER_LOGIN_LOCKOUT_MAX_SECONDS',
    what: "a name's longest lockout",
  },
  loginFailuresPerAddressPerDay: {
    flag: 'login-failures-per-address-per-day',
    env: 'MESSENGER_LOGIN_FAILURES_PER_ADDRESS_PER_DAY',
    what: 'failed logins from one address per day',
  },
  registrationsPerAddressPerHour: {
    flag: 'registrations-per-address-per-hour',
    env: 'MESSENGER_REGISTRATIONS_PER_ADDRESS_PER_HOUR',
    what: 'registrations from one address per hour',
  },
  sendBurst: {
    flag: 'send-burst',
    env: 'MESSENGER_SEND_BURST',
    what: 'messages a user may send at once',
  },
  sendsPerSecond: {
    flag: 'sends-per-second',
    env: 'MESSENGER_SENDS_PER_SECOND',
    what: 'messages a user may send per second in the long run',
  },
  requestsPerUserPer10Seconds: {
    flag: 'requests-per-user-per-10-seconds',
    env: 'MESSENGER_REQUESTS_PER_USER_PER_10_SECONDS',
    what: 'other requests of a user per 10 seconds',
  },
  requestsPerAddressPerMinute: {
    flag: 'requests-per-address-per-minute',
    env: 'MESSENGER_REQUESTS_PER_ADDRESS_PER_MINUTE',
    what: 'requests without a session from one address per minute',
  },
  upgradesPerAddressPerMinute: {
    flag: 'upgrades-per-address-per-minute',
    env: 'MESSENGER_UPGRADES_PER_ADDRESS_PER_MINUTE',
    what: 'live-channel upgrades from one address per minute',
  },
};

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** How long an address that signed in to a name is spared that name's lockout. */
const KNOWN_ADDRESS_MS = 30 * DAY;

/** The numbers, defaults filled in; throws on one that is not a positive number. */
export function rateLimitSettings(given: Partial<RateLimitOptions> = {}): RateLimitOptions {
  const settings = { ...RATE_LIMIT_DEFAULTS, ...given };
  for (const [name, value] of Object.entries(settings)) {
    const whole = name !== 'sendsPerSecond';
    if (typeof value !== 'number' || !(value > 0) || (whole && !Number.isSafeInteger(value)))
      throw new Error(`rate limit ${name} must be a ${whole ? 'whole ' : ''}number above 0`);
  }
  return settings;
}

/**
 * What an address counts as: an IPv4 address as it is (an IPv4-mapped IPv6 address as its
 * IPv4 one), an IPv6 address by its /64, the smallest network one subscriber is given: one
 * host owns 2^64 addresses of it, and counting each apart would let it walk past every
 * per-address limit.
 */
export function networkOf(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

const SENDING_TOO_FAST = 'you are sending too fast: wait, then send again';

function refuse(waitMs: number, message: string): never {
  throw HttpError.rateLimited(waitMs, message);
}

/** The rate limits of one server, on the messenger's counters. */
export class RatePolicy {
  readonly #limits: RateLimits;
  readonly #settings: RateLimitOptions;

  constructor(limits: RateLimits, settings: RateLimitOptions) {
    this.#limits = limits;
    this.#settings = settings;
  }

  #pairLimit() {
    const { loginFailuresPerNameAndAddress: failures, loginBlockSeconds } = this.#settings;
    const block = loginBlockSeconds * SECOND;
    // "In a row": failures a day apart still add up; only a success starts again.
    return { failures, withinMs: DAY, lockMs: block, maxLockMs: block };
  }

  #nameLimit() {
    const s = this.#settings;
    return {
      failures: s.loginFailuresPerName,
      withinMs: 15 * MINUTE,
      lockMs: s.loginLockoutSeconds * SECOND,
      maxLockMs: Math.max(s.loginLockoutSeconds, s.loginLockoutMaxSeconds) * SECOND,
    };
  }

  #addressFailures() {
    return { limit: this.#settings.loginFailuresPerAddressPerDay, windowMs: DAY };
  }

  /** A request without a session (public, or refused for its credentials). */
  async anonymous(from: string): Promise<void> {
    const address = networkOf(from);
    const limit = { limit: this.#settings.requestsPerAddressPerMinute, windowMs: MINUTE };
    const wait = await this.#limits.count('anonymous', { address }, limit);
    if (wait > 0) refuse(wait, 'too many requests from your address: wait, then try again');
  }

  async register(from: string): Promise<void> {
    const address = networkOf(from);
    const limit = { limit: this.#settings.registrationsPerAddressPerHour, windowMs: HOUR };
    const wait = await this.#limits.count('register', { address }, limit);
    if (wait > 0) refuse(wait, 'too many registrations from your address: try again later');
  }

  /** Before a password is checked: refuses a blocked pair, a locked name or a flooding address. */
  async beforeLogin(username: string, from: string): Promise<void> {
    const address = networkOf(from);
    const limits = this.#limits;
    const [pair, addressWait, known] = await Promise.all([
      limits.lockout('login-pair', { username, address }, this.#pairLimit(), false),
      limits.count('login-address', { address }, this.#addressFailures(), { peek: true }),
      limits.remembers('login-known', { username, address }),
    ]);
    const name = known
      ? 0
      : await limits.lockout('login-name', { username }, this.#nameLimit(), false);
    const wait = Math.max(pair, addressWait, name);
    if (wait > 0) refuse(wait, 'too many failed logins: wait, then try again');
  }

  async loginFailed(username: string, from: string): Promise<void> {
    const address = networkOf(from);
    const limits = this.#limits;
    const known = await limits.remembers('login-known', { username, address });
    await Promise.all([
      limits.lockout('login-pair', { username, address }, this.#pairLimit(), true),
      limits.count('login-address', { address }, this.#addressFailures()),
      // The owner's own typos from an address they use do not lock their name for others.
      known ? 0 : limits.lockout('login-name', { username }, this.#nameLimit(), true),
    ]);
  }

  async loginSucceeded(username: string, from: string): Promise<void> {
    const address = networkOf(from);
    const limits = this.#limits;
    await Promise.all([
      limits.reset('login-pair', { username, address }),
      limits.reset('login-name', { username }),
      limits.remember('login-known', { username, address }, KNOWN_ADDRESS_MS),
    ]);
  }

  /**
   * A message sent: one token of the user's bucket. A send to a user id takes it inside
   * the send itself instead (`sendLimit`, one round trip): this is for a send that reads
   * Redis before it (a receiver named by username).
   */
  async send(userId: string): Promise<void> {
    const wait = await this.#limits.take('send', { userId }, this.sendLimit);
    if (wait > 0) refuse(wait, SENDING_TOO_FAST);
  }

  /** The send bucket's numbers, for `messenger.send`'s `limit`. */
  get sendLimit(): BucketLimit {
    return { burst: this.#settings.sendBurst, perSecond: this.#settings.sendsPerSecond };
  }

  /** A send refused by its own bucket (`messenger.send` with `limit`), as the 429 of `send`. */
  static sendRefused(error: RateLimitedError): never {
    refuse(error.retryAfterMs, SENDING_TOO_FAST);
  }

  /** Any other request of a signed-in user. */
  async request(userId: string): Promise<void> {
    const limit = { limit: this.#settings.requestsPerUserPer10Seconds, windowMs: 10 * SECOND };
    const wait = await this.#limits.count('request', { userId }, limit);
    if (wait > 0) refuse(wait, 'too many requests: wait, then try again');
  }

  /** A live-channel upgrade. */
  async upgrade(from: string): Promise<void> {
    const address = networkOf(from);
    const limit = { limit: this.#settings.upgradesPerAddressPerMinute, windowMs: MINUTE };
    const wait = await this.#limits.count('upgrade', { address }, limit);
    if (wait > 0) refuse(wait, 'too many live connections from your address: wait a minute');
  }
}
