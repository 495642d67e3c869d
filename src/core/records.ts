/**
 * Reading the seed's hashes into User and Message values. Written to accept what the
 * original program stored too: `recipient_id` as well as `receiver_id`, no `seen` field,
 * timestamps as float seconds.
 * @module
 */
import type { Message, User } from './types.js';

/** The fields of a user hash that the messenger reads. */
export const USER_FIELDS = ['user_id', 'username', 'created_at'] as const;

/** The fields of a message hash that the messenger reads (`recipient_id`: the seed's schema). */
export const MESSAGE_FIELDS = [
  'message_id',
  'sender_id',
  'receiver_id',
  'recipient_id',
  'message',
  'timestamp',
  'seen',
] as const;

/** Unix seconds (as both programs write them), or failing that an ISO date. */
export function parseTime(value: string | undefined): Date {
  if (value === undefined) return new Date(0);
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds)) return new Date(seconds * 1000);
  const parsed = Date.parse(value);
  return new Date(Number.isNaN(parsed) ? 0 : parsed);
}

/** A user hash, or null when the hash is empty (no such user). */
export function userFromHash(hash: Record<string, string>, id: string): User | null {
  if (hash.username === undefined) return null;
  return { id: hash.user_id ?? id, username: hash.username, createdAt: parseTime(hash.created_at) };
}

/** A message hash, or null when the hash is empty (no such message). */
export function messageFromHash(hash: Record<string, string>, id: string): Message | null {
  if (hash.sender_id === undefined || hash.message === undefined) return null;
  return {
    id: hash.message_id ?? id,
    senderId: hash.sender_id,
    receiverId: hash.receiver_id ?? hash.recipient_id ?? '',
    text: hash.message,
    sentAt: parseTime(hash.timestamp),
    // The original program never wrote `seen`; its unseen count treated that as seen.
    seen: hash.seen !== 'False',
  };
}

/** A score (Unix seconds) as the messenger stores timestamps: six decimals, exact to the µs. */
export function timestampOfScore(score: number): string {
  const micros = Math.round(score * 1_000_000);
  return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
}
