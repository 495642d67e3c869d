/**
 * Every call the messenger makes to Redis goes through here: a deadline per operation,
 * and node-redis errors turned into the messenger's own, in one place.
 * @module
 */
import { ErrorReply, TimeoutError as NodeRedisTimeoutError } from 'redis';
import {
  MessengerError,
  RedisCommandError,
  RedisTimeoutError,
  RedisUnavailableError,
} from '../errors.js';
import {
  isClosedError,
  isConnectionError,
  isTemporaryReply,
  type RedisConnection,
} from '../redis/connect.js';
import { Deadlines } from '../redis/deadline.js';
import type { StepRunner } from './backend/writes.js';

export class RedisCalls {
  readonly #client: RedisConnection;
  readonly #target: string;
  readonly #timeoutMs: number;
  readonly #deadlines: Deadlines;
  readonly #isClosed: () => boolean;
  readonly #explainReply: (error: ErrorReply) => MessengerError | undefined;

  /**
   * `target` names the Redis in error messages, with no password in it; `explainReply`
   * is the backend's reading of an error reply, where it says more than the reply.
   */
  constructor(
    client: RedisConnection,
    target: string,
    timeoutMs: number,
    isClosed: () => boolean,
    explainReply: (error: ErrorReply) => MessengerError | undefined,
  ) {
    this.#client = client;
    this.#explainReply = explainReply;
    this.#target = target;
    this.#timeoutMs = timeoutMs;
    this.#deadlines = new Deadlines(timeoutMs);
    this.#isClosed = isClosed;
  }

  /**
   * Runs one operation against Redis with a deadline. The deadline matters when Redis
   * stops answering without closing the socket (paused, or a network partition):
   * node-redis would wait for the reply forever.
   *
   * An operation of several requests where running it again from the start costs
   * something (a send takes a token from the sender's bucket in its first step, and rings
   * the sender's channel only in its last) runs each request through `step`: then a
   * TRYAGAIN runs that request again, not the operation.
   */
  async run<T>(operation: (step: StepRunner) => Promise<T>): Promise<T> {
    if (this.#isClosed()) throw new MessengerError('this messenger is closed');
    const deadline = Date.now() + this.#timeoutMs;
    let over = false;
    let stepped = false;
    // TRYAGAIN: a slot is migrating, and the keys of one step are split between its old
    // and new node (or some do not exist yet). Redis ran nothing; the state ends with the
    // migration, so the request runs again until it passes or its deadline does. Every
    // operation is safe to run again (reads, and writes made idempotent for retries).
    // ASK redirections during a migration node-redis follows by itself.
    const untilPassed = async <U>(request: () => Promise<U>, whole: boolean): Promise<U> => {
      for (let tries = 0; ; tries++) {
        try {
          return await request();
        } catch (error) {
          const pause = Math.min(10 * 2 ** tries, 100);
          const again = !over && !(whole && stepped) && isTryAgain(error);
          if (!again || Date.now() + pause >= deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, pause));
        }
      }
    };
    const step: StepRunner = (request) => {
      stepped = true;
      return untilPassed(request, false);
    };
    const attempt = () => untilPassed(() => operation(step), true);
    try {
      return await this.#deadlines.run(attempt(), () => this.#timeoutError());
    } catch (error) {
      throw this.translate(error);
    } finally {
      over = true;
    }
  }

  /** node-redis errors become ours; anything else (a bug) is passed on as it is. */
  translate(error: unknown): unknown {
    if (error instanceof MessengerError) return error;
    if (error instanceof NodeRedisTimeoutError) return this.#timeoutError();
    if (error instanceof ErrorReply) return this.#translateReply(error);
    if (isClosedError(error))
      return new MessengerError('this messenger is closed', { cause: error });
    if (isConnectionError(error)) return new RedisUnavailableError(this.#target, { cause: error });
    return error;
  }

  #timeoutError(): MessengerError {
    return this.#client.isReady
      ? new RedisTimeoutError(this.#timeoutMs)
      : new RedisUnavailableError(this.#target);
  }

  /** An error reply from Redis: temporary states are "unavailable", the rest refusals. */
  #translateReply(error: ErrorReply): MessengerError {
    if (isTemporaryReply(error)) {
      return new RedisUnavailableError(this.#target, { cause: error });
    }
    const explained = this.#explainReply(error);
    if (explained) return explained;
    if (error.message.startsWith('OOM')) {
      // A script's first write is refused whole: nothing of the operation was stored.
      return new RedisCommandError('Redis is out of memory (maxmemory); nothing was stored', {
        cause: error,
      });
    }
    return new RedisCommandError(error.message, { cause: error });
  }
}

/** Whether Redis said TRYAGAIN, directly or as the cause of an error already translated. */
function isTryAgain(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof ErrorReply && e.message.startsWith('TRYAGAIN')) return true;
  }
  return false;
}
