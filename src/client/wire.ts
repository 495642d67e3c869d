/**
 * The API's JSON (docs/server.md: times as ISO 8601 strings) turned into the library's
 * values (times as Dates), so that a caller of the client and a caller of RedisMessenger
 * handle the same types.
 * @module
 */
import type { ConversationSummary, Message, MessagePage, User } from '../index.js';

export interface UserJson {
  id: string;
  username: string;
  createdAt: string;
}

export interface MessageJson {
  id: string;
  senderId: string;
  receiverId: string;
  text: string;
  sentAt: string;
  seen: boolean;
}

export interface MessagePageJson {
  messages: MessageJson[];
  hasOlder: boolean;
  hasNewer: boolean;
}

export interface SessionJson {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  userAgent: string;
  current: boolean;
}

export interface ConversationJson {
  with: UserJson;
  lastMessage: MessageJson | null;
  unread: number;
}

/** One of the signed-in user's sessions, as the server shows it (never its token). */
export interface SessionSummary {
  /** The SHA-256 of the session's token: what `endSession` takes. */
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  /** The absolute end: the session ends then however often it is used. */
  expiresAt: Date;
  userAgent: string;
  /** Whether this is the session the client is using. */
  current: boolean;
}

export function toUser(json: UserJson): User {
  return { id: json.id, username: json.username, createdAt: new Date(json.createdAt) };
}

export function toMessage(json: MessageJson): Message {
  return {
    id: json.id,
    senderId: json.senderId,
    receiverId: json.receiverId,
    text: json.text,
    sentAt: new Date(json.sentAt),
    seen: json.seen,
  };
}

export function toMessagePage(json: MessagePageJson): MessagePage {
  return {
    messages: json.messages.map(toMessage),
    hasOlder: json.hasOlder,
    hasNewer: json.hasNewer,
  };
}

export function toSession(json: SessionJson): SessionSummary {
  return {
    id: json.id,
    createdAt: new Date(json.createdAt),
    lastSeenAt: new Date(json.lastSeenAt),
    expiresAt: new Date(json.expiresAt),
    userAgent: json.userAgent,
    current: json.current,
  };
}

export function toConversation(json: ConversationJson): ConversationSummary {
  return {
    with: toUser(json.with),
    lastMessage: json.lastMessage ? toMessage(json.lastMessage) : null,
    unread: json.unread,
  };
}
