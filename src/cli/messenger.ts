/**
 * What the person's commands (send, inbox, chat, ...) need of a messenger: RedisMessenger's
 * own methods. RedisMessenger has them; ServerMessenger gives them over a server's API.
 * So every command is written once, and runs on Redis or through a server alike.
 * @module
 */
import {
  isUnconfirmed,
  type Message,
  RateLimitedError,
  type RedisMessenger,
  ServerUnavailableError,
  ServerUnreachableError,
  type SubscribeOptions,
} from '../index.js';

/** What a command subscribes with: the library's options, and what only a server can say. */
export interface LiveOptions extends SubscribeOptions {
  /** The server could not prove nothing was missed: read again over HTTP. */
  onReset?: () => void | Promise<void>;
  /** The subscription ended for good (the session ended): why. */
  onEnded?: (why: Error) => void;
}

export interface Live {
  close(): Promise<void>;
}

export type Messenger = Pick<
  RedisMessenger,
  | 'getUser'
  | 'findUserByUsername'
  | 'listAllUsers'
  | 'searchUsers'
  | 'sendMessage'
  | 'listUserMessages'
  | 'listConversation'
  | 'listConversations'
  | 'listUnreadMessages'
  | 'markSeen'
  | 'markConversationSeen'
  | 'unreadCount'
  | 'addContact'
  | 'removeContact'
  | 'listContacts'
> & {
  subscribe(
    userId: string,
    handler: (message: Message) => void | Promise<void>,
    options?: LiveOptions,
  ): Promise<Live>;
};

/**
 * Whether a send that failed with this error may still be stored, or may be taken if
 * tried again: Redis's unclear failures (isUnconfirmed), and a server that did not answer,
 * could not reach its store, or asked to wait. Sent again with the same id, it is stored once.
 */
export function mayStillBeSent(error: unknown): boolean {
  return (
    isUnconfirmed(error) ||
    error instanceof ServerUnreachableError ||
    error instanceof ServerUnavailableError ||
    error instanceof RateLimitedError
  );
}
