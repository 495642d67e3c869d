/**
 * What a user's channel carries: the doorbell. It only says "look" (the inbox is the
 * mailbox, ./live.ts), and tells the user's other devices what the user did: a message
 * they sent, messages they marked seen, a session that ended. Published as JSON: a received message by the
 * send scripts (send-message-9.lua, deliver-message-7.lua; `kind` left out, as before),
 * a sent one by send-message-9.lua or the cluster send's last step (note-sent-2.lua), a seen change by the
 * messenger after the write. Parsed here, field by field: it comes off the network.
 * @module
 */
import { parseTime } from './records.js';
import type { Message } from './types.js';

/** A message stored in the user's inbox; `previous` is the inbox entry before it ('' if none). */
export interface ReceivedBell {
  kind: 'received';
  message: Message;
  /** The inbox score as stored ("seconds.micros"), for the cursor. */
  timestamp: string;
  previous: string;
}

/** A message the user sent, from any device. */
export interface SentBell {
  kind: 'sent';
  message: Message;
}

/** Messages the user marked seen, from any device. */
export interface SeenBell {
  kind: 'seen';
  change: SeenChange;
}

/** What a markSeen or markConversationSeen changed. */
export interface SeenChange {
  /** The messages marked seen by id (markSeen), as asked; some may have been seen already. */
  messageIds?: string[];
  /** The other user whose messages were all marked seen (markConversationSeen). */
  with?: string;
  /** How many were unseen before. */
  marked: number;
}

/** One of the user's sessions ended (signed out, revoked): its live connections close. */
export interface SessionEndedBell {
  kind: 'signed-out';
  /** The session's id (the SHA-256 of its token). */
  session: string;
}

export type Bell = ReceivedBell | SentBell | SeenBell | SessionEndedBell;

const MESSAGE_FIELDS = ['id', 'sender_id', 'receiver_id', 'message', 'timestamp'] as const;

function messageOf(fields: Record<string, unknown>): Message | null {
  if (!MESSAGE_FIELDS.every((name) => typeof fields[name] === 'string')) return null;
  const bell = fields as Record<(typeof MESSAGE_FIELDS)[number], string>;
  return {
    id: bell.id,
    senderId: bell.sender_id,
    receiverId: bell.receiver_id,
    text: bell.message,
    sentAt: parseTime(bell.timestamp),
    seen: false,
  };
}

/** The doorbell as published, or null when it is not one this version understands. */
export function parseBell(raw: string): Bell | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const fields = value as Record<string, unknown>;
  switch (fields.kind) {
    case undefined: {
      const message = messageOf(fields);
      if (!message || typeof fields.previous !== 'string') return null;
      return {
        kind: 'received',
        message,
        timestamp: fields.timestamp as string,
        previous: fields.previous,
      };
    }
    case 'sent': {
      const message = messageOf(fields);
      return message ? { kind: 'sent', message } : null;
    }
    case 'seen': {
      const { ids, with: other, marked } = fields;
      if (typeof marked !== 'number') return null;
      if (Array.isArray(ids) && ids.every((id) => typeof id === 'string')) {
        return { kind: 'seen', change: { messageIds: ids as string[], marked } };
      }
      if (typeof other === 'string') return { kind: 'seen', change: { with: other, marked } };
      return null;
    }
    case 'signed-out':
      return typeof fields.session === 'string'
        ? { kind: 'signed-out', session: fields.session }
        : null;
    default:
      return null;
  }
}

/** The `signed-out` doorbell of a session. */
export function sessionEndedBell(session: string): string {
  return JSON.stringify({ kind: 'signed-out', session });
}

/** The `seen` doorbell of a change. */
export function seenBell(change: SeenChange): string {
  return JSON.stringify(
    change.messageIds
      ? { kind: 'seen', ids: change.messageIds, marked: change.marked }
      : { kind: 'seen', with: change.with, marked: change.marked },
  );
}
