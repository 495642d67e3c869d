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

export type { Accounts, Session, SessionTimeouts } from './core/accounts.js';
export type { SeenChange } from './core/doorbell.js';
export {
  BadDataError,
  CursorNotFoundError,
  isUnconfirmed,
  MessageIdConflictError,
  MessengerError,
  NotReplicatedError,
  RedisCommandError,
  RedisRefusedError,
  RedisServerNotInstalledError,
  RedisTimeoutError,
  RedisUnavailableError,
  type RefusalReason,
  UserNotFoundError,
  UsernameNotFoundError,
  UsernameTakenError,
  ValidationError,
} from './core/errors.js';
export type { InboxSubscription, SubscribeOptions } from './core/live.js';
export { type MessengerOptions, RedisMessenger, type SendOptions } from './core/messenger.js';
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
