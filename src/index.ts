/**
 * redis-messenger: a messenger whose datastore is Redis.
 *
 * @example
 * ```ts
 * import { RedisMessenger } from 'redis-messenger';
 * const messenger = await RedisMessenger.connect();
 * ```
 * @module
 */

export type {
  Accounts,
  EndedSessionsListener,
  Session,
  SessionTimeouts,
} from './core/accounts.js';
export type { SeenChange } from './core/doorbell.js';
export type { InboxSubscription, SubscribeOptions } from './core/live.js';
export type { KeyspaceNotifications, LiveCoverage } from './core/live-coverage.js';
export { RedisMessenger, type SendOptions } from './core/messenger.js';
export type { MigrationProgress, MigrationReport } from './core/migrate-cluster.js';
export type { MessengerOptions } from './core/options.js';
export type {
  BucketLimit,
  LockoutLimit,
  RateLimits,
  RateSubject,
  WindowLimit,
} from './core/rate-limits.js';
export type { ReindexProgress, ReindexReport } from './core/reindex.js';
export type {
  ConversationSummary,
  Message,
  MessagePage,
  SentMessage,
  UnreadCount,
  User,
  UserPage,
} from './core/types.js';
export type { Paging } from './core/validate.js';
export {
  BadDataError,
  ClusterLayoutError,
  CursorNotFoundError,
  isUnconfirmed,
  MessageIdConflictError,
  MessengerError,
  NotReplicatedError,
  RateLimitedError,
  RedisCommandError,
  RedisRefusedError,
  RedisServerNotInstalledError,
  RedisTimeoutError,
  RedisUnavailableError,
  type RefusalReason,
  ServerRefusedError,
  ServerTooOldError,
  ServerUnavailableError,
  ServerUnreachableError,
  SessionEndedError,
  UserNotFoundError,
  UsernameNotFoundError,
  UsernameTakenError,
  ValidationError,
} from './errors.js';

// What the `messenger` command uses besides the above (src/cli/ imports the library only
// through this file): the limits the messenger enforces, the checks it runs on input (to
// refuse bad input before connecting), message ids, and which Redis to use. (A comment
// on a line of its own, then a blank line: Biome sorts this block apart from the above.)

export { newMessageId } from './core/ids.js';
export {
  DEFAULT_PAGE_LIMIT,
  DEFAULT_SEARCH_LIMIT,
  DEFAULT_TEXT_MAX_LENGTH,
  isId,
  MAX_PAGE_LIMIT,
  MAX_SEARCH_LIMIT,
  USERNAME_MAX_LENGTH,
  validateId,
  validateNamePrefix,
  validateNamespace,
  validateText,
  validateUsername,
} from './core/validate.js';
export { describeCluster, parseClusterNodes, redactUrl } from './redis/connect.js';
export {
  type LocalServerOptions,
  type LocalServerStatus,
  localServerStatus,
  type ResolvedRedis,
  type ResolveRedisUrlOptions,
  resolveRedis,
  stopLocalServer,
} from './redis/local-server.js';
export type { Listening } from './redis/subscriber.js';
export { namedTarget, type Target, type TargetSource } from './redis/target.js';
