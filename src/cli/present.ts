/**
 * How users and messages look on the command line: the stable JSON shapes of `--json`
 * (documented in docs/cli.md) and the human lines, kept apart from gathering the data.
 * @module
 */
import type { ConversationSummary, Message, User } from '../index.js';
import type { Output } from './output.js';
import { displayWidth, formatTime, printable } from './output.js';
import type { NameBook } from './people.js';

export interface UserJson {
  id: string;
  username: string;
  createdAt: string;
}

export interface MessageJson {
  id: string;
  senderId: string;
  sender: string;
  receiverId: string;
  receiver: string;
  text: string;
  sentAt: string;
  seen: boolean;
}

export function userJson(user: User): UserJson {
  return { id: user.id, username: user.username, createdAt: user.createdAt.toISOString() };
}

export function messageJson(message: Message, names: NameBook): MessageJson {
  return {
    id: message.id,
    senderId: message.senderId,
    sender: names.name(message.senderId),
    receiverId: message.receiverId,
    receiver: names.name(message.receiverId),
    text: message.text,
    sentAt: message.sentAt.toISOString(),
    seen: message.seen,
  };
}

export function conversationJson(summary: ConversationSummary, names: NameBook) {
  return {
    with: userJson(summary.with),
    lastMessage: summary.lastMessage ? messageJson(summary.lastMessage, names) : null,
    unread: summary.unread,
  };
}

export function printJson(output: Output, value: unknown): void {
  output.line(JSON.stringify(value, null, 2));
}

/** Rows of cells as aligned columns; the last column is not padded. */
export function printTable(output: Output, rows: string[][]): void {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, displayWidth(cell));
    });
  }
  for (const row of rows) {
    output.line(
      row
        .map((cell, i) =>
          i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - displayWidth(cell)),
        )
        .join('  ')
        .trimEnd(),
    );
  }
}

/** One message as a line: time, sender, text (continuation lines indented). */
export function messageLine(
  message: Message,
  names: NameBook,
  output: Output,
  me?: string,
): string {
  const { dim, bold } = output.colors;
  const sender = message.senderId === me ? 'you' : names.name(message.senderId);
  const text = printable(message.text).replaceAll('\n', '\n    ');
  const unseen = !message.seen && message.receiverId === me ? ' •' : '';
  return `${dim(formatTime(message.sentAt))}  ${bold(printable(sender))}: ${text}${unseen}`;
}

export function userRows(users: User[]): string[][] {
  return users.map((user) => [printable(user.username), user.id, formatTime(user.createdAt)]);
}
