/**
 * Where rate limits live in Redis: three kinds of counter, each one atomic step of one key
 * (a Lua script), so that every server instance on the same Redis shares them. Only
 * storage and arithmetic: which limits there are, their numbers and what they are keyed
 * by are the server's (src/server/auth/rate-limits.ts). Every answer is "go ahead" (0) or
 * how many milliseconds to wait.
 * @module
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.js';
import type { RedisConnection } from '../redis/connect.js';
import type { Keys } from './keys.js';
import { scripts } from './scripts.js';
import { foldUsername, validateId } from './validate.js';

/**
 * Whom a limit counts: a user (by id), or a username and/or a network address. A
 * username is compared folded (as usernames are), whether or not such a user exists;
 * neither it nor the address ever becomes part of a key (they are hashed).
 */
export type RateSubject = { userId: string } | { username?: string; address?: string };

/** A fixed window: `limit` events per `windowMs`. */
export interface WindowLimit {
  limit: number;
  windowMs: number;
}

/** A token bucket: at most `burst` events at once, refilled at `perSecond`. */
export interface BucketLimit {
  burst: number;
  perSecond: number;
}

/** Failures in a row: `failures` within `withinMs` lock for `lockMs`, doubling up to `maxLockMs`. */
export interface LockoutLimit {
  failures: number;
  withinMs: number;
  lockMs: number;
  maxLockMs: number;
}

/** A rule's name goes into key names: a fixed word of the server's, never input. */
const RULE = /^[a-z][a-z0-9-]{0,31}$/;

export interface RateLimitParts {
  client: RedisConnection;
  keys: Keys;
  run: <T>(operation: () => Promise<T>) => Promise<T>;
}

/** Rate-limit counters shared by every process on the Redis. Get it from `RedisMessenger.rateLimits`. */
export class RateLimits {
  readonly #parts: RateLimitParts;

  constructor(parts: RateLimitParts) {
    this.#parts = parts;
  }

  /**
   * Counts one event in a fixed window (or, with `peek`, only looks whether there is
   * room). Returns 0 when allowed, else the milliseconds until the window ends; a
   * refused event is not counted.
   */
  async count(
    rule: string,
    subject: RateSubject,
    { limit, windowMs }: WindowLimit,
    options: { peek?: boolean } = {},
  ): Promise<number> {
    return this.#script(scripts.rateWindow, rule, subject, [
      whole(limit, 'limit'),
      whole(windowMs, 'windowMs'),
      options.peek ? '0' : '1',
    ]);
  }

  /** Takes a token from a bucket: 0 when allowed, else the milliseconds until one is there. */
  async take(
    rule: string,
    subject: RateSubject,
    { burst, perSecond }: BucketLimit,
  ): Promise<number> {
    return this.#script(scripts.rateBucket, rule, subject, bucketArgs({ burst, perSecond }));
  }

  /**
   * A lockout's state: with `failed`, counts a failure first. Returns 0 when not locked,
   * else the milliseconds the lockout has left. Failures are not counted while locked.
   */
  async lockout(
    rule: string,
    subject: RateSubject,
    limit: LockoutLimit,
    failed: boolean,
  ): Promise<number> {
    return this.#script(scripts.rateLockout, rule, subject, [
      failed ? 'fail' : 'check',
      whole(limit.failures, 'failures'),
      whole(limit.withinMs, 'withinMs'),
      whole(limit.lockMs, 'lockMs'),
      whole(limit.maxLockMs, 'maxLockMs'),
    ]);
  }

  /** Forgets a rule's state for a subject (a success ends a streak of failures). */
  async reset(rule: string, subject: RateSubject): Promise<void> {
    const { client, run } = this.#parts;
    await run(() => client.del(this.#key(rule, subject)));
  }

  /** Notes that something happened, for `ms` (for example: this address signed in to that name). */
  async remember(rule: string, subject: RateSubject, ms: number): Promise<void> {
    const { client, run } = this.#parts;
    await run(() => client.set(this.#key(rule, subject), '1', { PX: Number(whole(ms, 'ms')) }));
  }

  /** Whether `remember` noted it, less than its `ms` ago. */
  async remembers(rule: string, subject: RateSubject): Promise<boolean> {
    const { client, run } = this.#parts;
    return (await run(() => client.exists(this.#key(rule, subject)))) === 1;
  }

  async #script(
    script: (typeof scripts)['rateWindow'],
    rule: string,
    subject: RateSubject,
    args: string[],
  ): Promise<number> {
    const { client, run } = this.#parts;
    const key = this.#key(rule, subject);
    return Number(await run(() => script.run(client, [key], args)));
  }

  #key(rule: string, subject: RateSubject): string {
    if (typeof rule !== 'string' || !RULE.test(rule))
      throw new ValidationError('a rate-limit rule is a short lower-case word');
    const { keys } = this.#parts;
    if ('userId' in subject) return keys.userRateLimit(rule, validateId(subject.userId, 'user id'));
    const { username, address } = subject;
    if (username === undefined && address === undefined)
      throw new ValidationError('a rate-limit subject needs a user id, a username or an address');
    const named = JSON.stringify([
      username === undefined ? null : foldUsername(username),
      address ?? null,
    ]);
    return keys.rateLimit(rule, createHash('sha256').update(named).digest('hex'));
  }
}

/** A bucket's numbers as its scripts take them (token-bucket.lua): burst, and milliseconds per token. */
export function bucketArgs({ burst, perSecond }: BucketLimit): [burst: string, every: string] {
  if (!(Number.isFinite(perSecond) && perSecond > 0))
    throw new ValidationError('perSecond must be a finite number more than 0');
  return [whole(burst, 'burst'), String(1000 / perSecond)];
}

function whole(value: number, what: string): string {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new ValidationError(`${what} must be a whole number of at least 1`);
  return String(value);
}
