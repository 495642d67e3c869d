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
} from '../core/errors.js';
import {
  isClosedError,
  isCluster,
  isConnectionError,
  isTemporaryReply,
  type RedisConnection,
} from './connect.js';
import { withDeadline } from './deadline.js';

export class RedisCalls {
  readonly #client: RedisConnection;
  readonly #target: string;
  readonly #timeoutMs: number;
  readonly #isClosed: () => boolean;

  /** `target` names the Redis in error messages, with no password in it. */
  constructor(client: RedisConnection, target: string, timeoutMs: number, isClosed: () => boolean) {
    this.#client = client;
    this.#target = target;
    this.#timeoutMs = timeoutMs;
    this.#isClosed = isClosed;
  }

  /**
   * Runs one operation against Redis with a deadline. The deadline matters when Redis
   * stops answering without closing the socket (paused, or a network partition):
   * node-redis would wait for the reply forever.
   */
  async run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#isClosed()) throw new MessengerError('this messenger is closed');
    try {
      return await withDeadline(operation(), this.#timeoutMs, () => this.#timeoutError());
    } catch (error) {
      throw this.translate(error);
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
    if (/^(CROSSSLOT|MOVED|ASK)\b/.test(error.message) && !isCluster(this.#client)) {
      // Connected as to one Redis, to a node of a Redis Cluster.
      return new RedisCommandError(
        'this Redis is a node of a Redis Cluster: connect with cluster (the CLI: --cluster, or REDIS_CLUSTER)',
        { cause: error },
      );
    }
    if (error.message.startsWith('OOM')) {
      // A script's first write is refused whole: nothing of the operation was stored.
      return new RedisCommandError('Redis is out of memory (maxmemory); nothing was stored', {
        cause: error,
      });
    }
    return new RedisCommandError(error.message, { cause: error });
  }
}
