/**
 * `messenger inbox`, `messenger conversation` and `messenger conversations`: reading.
 * @module
 */
import type { Command } from 'commander';
import type { Message, MessagePage } from '../../core/types.js';
import { withMessenger } from '../connect.js';
import { UsageError } from '../handle-error.js';
import type { CommandContext } from '../main.js';
import { parseCursor, parseLimit } from '../options.js';
import { formatTime, type Output, printable } from '../output.js';
import { NameBook, resolveUser } from '../people.js';
import { conversationJson, messageJson, messageLine, printJson, printTable } from '../present.js';

interface PagingOptions {
  limit: number;
  before?: string;
  after?: string;
  json?: boolean;
}

function paging(options: PagingOptions) {
  if (options.before && options.after)
    throw new UsageError('give either --before or --after, not both');
  return { limit: options.limit, before: options.before, after: options.after };
}

function withPagingOptions(command: Command): Command {
  return command
    .option('--limit <n>', 'how many messages (1-1000)', parseLimit, 20)
    .option('--before <id>', 'the messages just before this message id', parseCursor)
    .option('--after <id>', 'the messages just after this message id', parseCursor)
    .option('--json', 'print as JSON');
}

function printMessages(
  output: Output,
  messages: Message[],
  names: NameBook,
  me: string,
  empty: string,
): void {
  if (messages.length === 0) output.line(empty);
  for (const message of messages) output.line(messageLine(message, names, output, me));
}

function printPageHints(output: Output, page: MessagePage, command: string): void {
  const { dim } = output.colors;
  const first = page.messages[0]?.id;
  const last = page.messages.at(-1)?.id;
  if (page.hasOlder && first) output.notice(dim(`older: ${command} --before ${first}`));
  if (page.hasNewer && last) output.notice(dim(`newer: ${command} --after ${last}`));
}

export function registerReading(program: Command, { output, globals }: CommandContext): void {
  withPagingOptions(
    program
      .command('inbox <user>')
      .description(
        'messages a user received, oldest first (the newest page unless --before/--after)',
      )
      .option('--unread', 'only messages not seen yet'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  $ messenger inbox bob\n  $ messenger inbox bob --unread --json',
    )
    .action((name: string, options: PagingOptions & { unread?: boolean }) =>
      withMessenger(globals(), output, async (messenger) => {
        const request = paging(options);
        const me = await resolveUser(messenger, name);
        const names = new NameBook(messenger, [me]);
        let page: MessagePage;
        if (options.unread) {
          if (request.before || request.after)
            throw new UsageError('--unread takes no --before or --after');
          const messages = await messenger.listUnreadMessages(me.id, { limit: request.limit });
          page = { messages, hasOlder: false, hasNewer: false };
        } else {
          page = await messenger.listUserMessages(me.id, request);
        }
        await names.learn(page.messages.map((m) => m.senderId));
        if (options.json) {
          printJson(output, { ...page, messages: page.messages.map((m) => messageJson(m, names)) });
          return;
        }
        printMessages(
          output,
          page.messages,
          names,
          me.id,
          options.unread ? 'no unread messages' : 'no messages',
        );
        printPageHints(output, page, `messenger inbox ${name}`);
      }),
    );

  withPagingOptions(
    program
      .command('conversation <user> <other>')
      .description('the messages between two users, both directions'),
  )
    .addHelpText('after', '\nExample:\n  $ messenger conversation alice bob --limit 50')
    .action((name: string, otherName: string, options: PagingOptions) =>
      withMessenger(globals(), output, async (messenger) => {
        const request = paging(options);
        const [me, other] = await Promise.all([
          resolveUser(messenger, name),
          resolveUser(messenger, otherName),
        ]);
        const names = new NameBook(messenger, [me, other]);
        const page = await messenger.listConversation(me.id, other.id, request);
        if (options.json) {
          printJson(output, { ...page, messages: page.messages.map((m) => messageJson(m, names)) });
          return;
        }
        printMessages(output, page.messages, names, me.id, 'no messages yet');
        printPageHints(output, page, `messenger conversation ${name} ${otherName}`);
      }),
    );

  program
    .command('conversations <user>')
    .description('the people a user talks with, most recent first, with unread counts')
    .option('--limit <n>', 'how many (1-1000)', parseLimit, 50)
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  $ messenger conversations alice')
    .action((name: string, options: { limit: number; json?: boolean }) =>
      withMessenger(globals(), output, async (messenger) => {
        const me = await resolveUser(messenger, name);
        const summaries = await messenger.listConversations(me.id, { limit: options.limit });
        const names = new NameBook(messenger, [me, ...summaries.map((s) => s.with)]);
        if (options.json) {
          printJson(output, { conversations: summaries.map((s) => conversationJson(s, names)) });
          return;
        }
        if (summaries.length === 0) output.line('no conversations yet');
        const { bold, dim } = output.colors;
        printTable(
          output,
          summaries.map((s) => {
            const last = s.lastMessage;
            const preview = last
              ? `${last.senderId === me.id ? 'you: ' : ''}${printable(last.text).replaceAll('\n', ' ').slice(0, 60)}`
              : '';
            return [
              printable(s.with.username),
              s.unread > 0 ? bold(`${s.unread} unread`) : dim('0 unread'),
              last ? formatTime(last.sentAt) : '',
              preview,
            ];
          }),
        );
      }),
    );
}
