/**
 * The shapes the API speaks, as TypeBox schemas: the same objects validate requests,
 * serialize replies and (later) document the API. Times are ISO 8601 strings.
 * @module
 */
import { Type } from 'typebox';
import type { Message, Session, User } from '../index.js';

export const UserShape = Type.Object({
  id: Type.String(),
  username: Type.String(),
  createdAt: Type.String(),
});

export const MessageShape = Type.Object({
  id: Type.String(),
  senderId: Type.String(),
  receiverId: Type.String(),
  text: Type.String(),
  sentAt: Type.String(),
  seen: Type.Boolean(),
});

export const ErrorShape = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    /** On a 429: how long to wait, in milliseconds (also `Retry-After`, in seconds). */
    retry_after_ms: Type.Optional(Type.Integer()),
  }),
});

export const SessionShape = Type.Object({
  id: Type.String(),
  createdAt: Type.String(),
  lastSeenAt: Type.String(),
  expiresAt: Type.String(),
  userAgent: Type.String(),
  current: Type.Boolean(),
});

export const MessagePageShape = Type.Object({
  messages: Type.Array(MessageShape),
  hasOlder: Type.Boolean(),
  hasNewer: Type.Boolean(),
});

/** `limit`, `before`, `after` of a paged list, as query strings. */
export const PagingQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  before: Type.Optional(Type.String()),
  after: Type.Optional(Type.String()),
});

/** A user in a path: a username or a user id. */
export const UserParam = Type.Object({ user: Type.String({ minLength: 1, maxLength: 64 }) });

export function userJson(user: User) {
  return { id: user.id, username: user.username, createdAt: user.createdAt.toISOString() };
}

export function messageJson(message: Message) {
  return {
    id: message.id,
    senderId: message.senderId,
    receiverId: message.receiverId,
    text: message.text,
    sentAt: message.sentAt.toISOString(),
    seen: message.seen,
  };
}

export function sessionJson(session: Session, currentId: string) {
  return {
    id: session.id,
    createdAt: session.createdAt.toISOString(),
    lastSeenAt: session.lastSeenAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    userAgent: session.userAgent,
    current: session.id === currentId,
  };
}
