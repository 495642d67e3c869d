/**
 * `messenger inbox`, `messenger conversation` and `messenger conversations`: reading.
 * @module
 */
import type { Command } from 'commander';
import type { MessagePage } from '../../index.js';
import { redisFlag, withPersonMessenger } from '../connect.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../handle-error.js';
import { LIMIT_RANGE, parseCursor, parseLimit } from '../options.js';
import { formatTime, type Output, preview, printable, shellWord } from '../output.js';
import { NameBook, resolveUser } from '../people.js';
import { conversationJson, messageJson, messageLine, printJson, printTable } from '../present.js';

interface PagingOptions {
  limit: number;
  before?: string;
  after?: string;
  json?: boolean;
}

/** Checked before connecting: a usage error needs no Redis. */
function paging(options: PagingOptions) {
  if (options.before && options.after)
    throw new UsageError('give either --before or --after, not both');
  return { limit: options.limit, before: options.before, after: options.after };
}

function withPagingOptions(command: Command): Command {
  return command
    .option('--limit <n>', `how many messages (${LIMIT_RANGE})`, parseLimit, 20)
    .option('--before <id>', 'the messages just before this message id', parseCursor)
    .option('--after <id>', 'the messages just after this message id', parseCursor)
    .option('--json', 'print as JSON');
}

/** Prints a page (or its JSON), and on standard error the commands for the pages around it. */
function printPage(
  output: Output,
  page: MessagePage,
  names: NameBook,
  me: string,
  /** `command`: the command that printed this page, for the hints; none for no hints. */
  options: { json?: boolean; empty: string; command?: string[]; limit: number; redis: string },
): void {
  if (options.json) {
    printJson(output, {
      messages: page.messages.map((m) => messageJson(m, names)),
      hasOlder: page.hasOlder,
      hasNewer: page.hasNewer,
    });
    return;
  }
  if (page.messages.length === 0) output.line(options.empty);
  for (const message of page.messages) output.line(messageLine(message, names, output, me));
  const { command } = options;
  if (!command) return;
  const { dim } = output.noticeColors;
  const again = (flag: string, cursor: string) =>
    [...command, '--limit', String(options.limit), flag, cursor].map(shellWord).join(' ') +
    options.redis;
  const first = page.messages[0]?.id;
  const last = page.messages.at(-1)?.id;
  if (page.hasOlder && first) output.notice(dim(`older: ${again('--before', first)}`));
  if (page.hasNewer && last) output.notice(dim(`newer: ${again('--after', last)}`));
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
    .action((name: string, options: PagingOptions & { unread?: boolean }) => {
      const request = paging(options);
      if (options.unread && (request.before || request.after)) {
        throw new UsageError('--unread takes no --before or --after');
      }
      return withPersonMessenger(globals(), output, async (messenger) => {
        const me = await resolveUser(messenger, name);
        const names = new NameBook(messenger, [me]);
        let page: MessagePage;
        if (options.unread) {
          const [messages, { total }] = await Promise.all([
            messenger.listUnreadMessages(me.id, { limit: request.limit }),
            messenger.unreadCount(me.id),
          ]);
          // Older unread messages than these exist when the counter says there are more.
          page = { messages, hasOlder: total > messages.length, hasNewer: false };
          if (!options.json && page.hasOlder) {
            output.notice(
              output.noticeColors.dim(
                `${total - messages.length} more unread: use a larger --limit`,
              ),
            );
          }
        } else {
          page = await messenger.listUserMessages(me.id, request);
        }
        await names.learn(page.messages.map((m) => m.senderId));
        printPage(output, page, names, me.id, {
          json: options.json,
          empty: options.unread ? 'no unread messages' : 'no messages',
          // Unread messages are not paged with cursors: no older/newer hints for them.
          command: options.unread ? undefined : ['messenger', 'inbox', name],
          limit: request.limit,
          redis: redisFlag(globals()),
        });
      });
    });

  withPagingOptions(
    program
      .command('conversation <user> <other>')
      .description('the messages between two users, both directions'),
  )
    .addHelpText('after', '\nExample:\n  $ messenger conversation alice bob --limit 50')
    .action((name: string, otherName: string, options: PagingOptions) => {
      const request = paging(options);
      if (name === otherName) throw new UsageError('a conversation is between two different users');
      return withPersonMessenger(globals(), output, async (messenger) => {
        const [me, other] = await Promise.all([
          resolveUser(messenger, name),
          resolveUser(messenger, otherName),
        ]);
        const names = new NameBook(messenger, [me, other]);
        const page = await messenger.listConversation(me.id, other.id, request);
        printPage(output, page, names, me.id, {
          json: options.json,
          empty: 'no messages yet',
          command: ['messenger', 'conversation', name, otherName],
          limit: request.limit,
          redis: redisFlag(globals()),
        });
      });
    });

  program
    .command('conversations <user>')
    .description('the people a user talks with, most recent first, with unread counts')
    .option('--limit <n>', `how many (${LIMIT_RANGE})`, parseLimit, 50)
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  $ messenger conversations alice')
    .action((name: string, options: { limit: number; json?: boolean }) =>
      withPersonMessenger(globals(), output, async (messenger) => {
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
            return [
              printable(s.with.username),
              s.unread > 0 ? bold(`${s.unread} unread`) : dim('0 unread'),
              last ? formatTime(last.sentAt) : '',
              last ? `${last.senderId === me.id ? 'you: ' : ''}${preview(last.text, 60)}` : '',
            ];
          }),
        );
      }),
    );
}
