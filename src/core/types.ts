/** The values the messenger hands back to its callers. @module */

export interface User {
  /** A UUID. */
  id: string;
  /** The name exactly as it was typed when the user was created. */
  username: string;
  createdAt: Date;
}

export interface Message {
  /** A UUID (time-ordered v7 unless the sender supplied one). Also the paging cursor. */
  id: string;
  senderId: string;
  receiverId: string;
  /** The text, byte for byte as sent. */
  text: string;
  /** When Redis stored it (microsecond precision in Redis, milliseconds here). */
  sentAt: Date;
  /** Whether the receiver has seen it. Messages from the original program count as seen. */
  seen: boolean;
}

/** What `send` stored. */
export interface SentMessage {
  /** The message as every reader sees it (`seen` as stored, on a replay). */
  message: Message;
  /** True when the id was stored before (a retry): nothing was written this time. */
  replayed: boolean;
}

/** A page of messages, oldest first. Page on with `before: messages[0].id` or `after: messages.at(-1).id`. */
export interface MessagePage {
  messages: Message[];
  /** There are older messages than the first of this page. */
  hasOlder: boolean;
  /** There are newer messages than the last of this page. */
  hasNewer: boolean;
  /**
   * Present when entries of the page could not be read (their message hash was deleted,
   * or is not a hash): they are left out of `messages`, which may then be empty. Page on
   * with these cursors instead of the first and last message's ids.
   */
  skipped?: {
    /** How many entries were left out. */
    count: number;
    /** The page's first entry, read or not: pass it as `before` for the older page. */
    before?: string;
    /** The page's last entry, read or not: pass it as `after` for the newer page. */
    after?: string;
  };
}

/** A page of users in the order they were created. Page on with `after: users.at(-1).id`. */
export interface UserPage {
  users: User[];
  hasMore: boolean;
}

export interface UnreadCount {
  total: number;
  /** Sender id -> how many of their messages are unseen. Senders with none are left out. */
  bySender: Record<string, number>;
}

/** One person a user has exchanged messages with. */
export interface ConversationSummary {
  with: User;
  /** The newest message, in either direction. */
  lastMessage: Message | null;
  /** How many messages from them the user has not seen. */
  unread: number;
}
