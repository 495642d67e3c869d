/**
 * The messenger's options: what a caller may give, checked, with defaults filled in, and
 * which Redis they name (src/redis/target.ts decides; 127.0.0.1:6379 when nothing does).
 * @module
 */
import { DEFAULT_REDIS_URL } from '../redis/connect.js';
import { namedTarget, type Target } from '../redis/target.js';
import type { LiveCoverage } from './live-coverage.js';
import { DEFAULT_TEXT_MAX_LENGTH, validateCount, validateNamespace } from './validate.js';

/** How to reach Redis and how the messenger behaves. Every field is optional. */
export interface MessengerOptions {
  /**
   * redis://host:port[/db] (a user and password go before the host), rediss:// for TLS,
   * or unix:///path/to/socket.
   * @defaultValue `process.env.REDIS_URL`, else `redis://127.0.0.1:6379` (unless
   * `REDIS_CLUSTER` is set: see `cluster`)
   */
  url?: string;
  /**
   * Runs on a Redis Cluster instead: redis:// (or rediss://) URLs of some of its nodes,
   * from which the rest are found. Credentials and TLS of the first URL apply to every
   * node. Keys then carry hash tags (docs/schema.md); give `url` or `cluster`, not both.
   * @defaultValue when neither is given: `process.env.REDIS_CLUSTER` (`host:port` or
   * URLs, comma-separated) if set
   */
  cluster?: string[];
  /**
   * Prepended (with a colon) to every key and channel, so that several messengers, or
   * tests, can share one Redis. Letters, digits and `_.-` only.
   * @defaultValue none: the original program's exact key names
   */
  namespace?: string;
  /** How long connecting may take before `connect` rejects. @defaultValue 5000 */
  connectTimeoutMs?: number;
  /**
   * How long any one operation may wait for Redis before it rejects. An operation made of
   * bounded steps (`markConversationSeen`, `listUnreadMessages`, `reindex`) has it for
   * each step, none overall. @defaultValue 5000
   */
  commandTimeoutMs?: number;
  /** The longest message text accepted, in characters. @defaultValue 4096 */
  maxTextLength?: number;
  /** Called with connection errors that the client recovers from by reconnecting. */
  onConnectionError?: (error: Error) => void;
  /**
   * Called once, when first known (at the first `subscribe`), with what live delivery covers on this Redis
   * (`liveCoverage()`): whether the original program's messages arrive live (Redis
   * keyspace notifications), and a one-line `summary` to log.
   */
  onLiveCoverage?: (coverage: LiveCoverage) => void;
  /**
   * Before `sendMessage` resolves, wait until this many replicas have the message (Redis
   * WAIT on every node the send wrote to). Redis replicates asynchronously: without it,
   * a message acknowledged just before its master dies can be lost in the failover
   * (docs/reliability.md measures how many, and what waiting costs).
   * @defaultValue 0: acknowledge once the master has it
   */
  waitForReplicas?: number;
  /**
   * How long `sendMessage` waits for those replicas; then it rejects with
   * NotReplicatedError (the message is stored; sending it again with its id is safe).
   * @defaultValue 1000
   */
  replicaTimeoutMs?: number;
}

/** The options after validation, defaults filled in. */
export type Settings = Required<
  Pick<
    MessengerOptions,
    | 'connectTimeoutMs'
    | 'commandTimeoutMs'
    | 'maxTextLength'
    | 'waitForReplicas'
    | 'replicaTimeoutMs'
  >
> &
  Pick<MessengerOptions, 'onConnectionError' | 'onLiveCoverage'>;

/** The options checked, defaults filled in, and the Redis they name. */
export function settingsOf(options: MessengerOptions = {}): {
  namespace: string | undefined;
  target: Target;
  settings: Settings;
} {
  const { namespace } = options;
  const target = namedTarget(options ?? {})?.target ?? {
    kind: 'standalone' as const,
    url: DEFAULT_REDIS_URL,
  };
  if (namespace !== undefined) validateNamespace(namespace);
  const settings: Settings = {
    connectTimeoutMs: validateCount(
      options.connectTimeoutMs,
      'connectTimeoutMs',
      'milliseconds',
      5000,
    ),
    commandTimeoutMs: validateCount(
      options.commandTimeoutMs,
      'commandTimeoutMs',
      'milliseconds',
      5000,
    ),
    maxTextLength: validateCount(
      options.maxTextLength,
      'maxTextLength',
      'characters',
      DEFAULT_TEXT_MAX_LENGTH,
    ),
    onConnectionError: options.onConnectionError,
    onLiveCoverage: options.onLiveCoverage,
    waitForReplicas:
      options.waitForReplicas === 0
        ? 0
        : validateCount(options.waitForReplicas, 'waitForReplicas', 'replicas', 0),
    replicaTimeoutMs: validateCount(
      options.replicaTimeoutMs,
      'replicaTimeoutMs',
      'milliseconds',
      1000,
    ),
  };
  return { namespace, target, settings };
}
