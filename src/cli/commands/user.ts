/**
 * `messenger user create|list|show`.
 * @module
 */
import type { Command } from 'commander';
import {
  DEFAULT_PAGE_LIMIT,
  DEFAULT_SEARCH_LIMIT,
  MAX_SEARCH_LIMIT,
  type UserPage,
  validateNamePrefix,
  validateUsername,
} from '../../index.js';
import { redisFlag, withMessenger, withPersonMessenger } from '../connect.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../handle-error.js';
import { LIMIT_RANGE, parseLimit, parseUserCursor } from '../options.js';
import { printable } from '../output.js';
import { resolveUser } from '../people.js';
import { printJson, printTable, userJson, userRows } from '../present.js';
import { readPassword } from '../read-password.js';

export function registerUser(program: Command, { output, input, globals }: CommandContext): void {
  const user = program
    .command('user')
    .description('create, list and show users, and set their passwords')
    .addHelpText(
      'after',
      '\nExamples:\n  $ messenger user create alice\n  $ messenger user list --json',
    );

  user
    .command('create <username>')
    .description('create a user; names are unique ignoring case')
    .option('--json', 'print the new user as JSON')
    .addHelpText('after', '\nExample:\n  $ messenger user create alice')
    .action((username: string, options: { json?: boolean }) => {
      validateUsername(username); // judged before connecting
      return withMessenger(globals(), output, async (messenger) => {
        const id = await messenger.createUser(username);
        if (options.json) {
          // One more read, for the same user shape every other command prints.
          const created = await messenger.getUser(id);
          printJson(output, created ? userJson(created) : { id, username });
        } else {
          output.line(`created ${printable(username)} ${output.colors.dim(id)}`);
        }
      });
    });

  user
    .command('list')
    .description(
      'list users in the order they were created, or those whose name starts with --prefix',
    )
    .option(
      '--limit <n>',
      `how many (${LIMIT_RANGE}; with --prefix 1-${MAX_SEARCH_LIMIT}) (default: ${DEFAULT_PAGE_LIMIT}; with --prefix ${DEFAULT_SEARCH_LIMIT})`,
      parseLimit,
    )
    .option('--after <id>', 'continue after this user id (from an earlier page)', parseUserCursor)
    .option(
      '--prefix <text>',
      'only users whose name starts with this, ignoring case, ordered by name',
    )
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ messenger user list --limit 20\n  $ messenger user list --prefix al',
    )
    .action((options: { limit?: number; after?: string; prefix?: string; json?: boolean }) => {
      const { prefix, after } = options;
      // Judged before connecting, as every usage error is.
      if (prefix !== undefined) {
        validateNamePrefix(prefix);
        if (after !== undefined)
          throw new UsageError('--prefix takes no --after: narrow the prefix instead');
        if (options.limit !== undefined && options.limit > MAX_SEARCH_LIMIT)
          throw new UsageError(`--limit with --prefix is at most ${MAX_SEARCH_LIMIT}`);
      }
      return withPersonMessenger(globals(), output, async (messenger) => {
        const page: UserPage =
          prefix === undefined
            ? await messenger.listAllUsers({ limit: options.limit ?? DEFAULT_PAGE_LIMIT, after })
            : await messenger.searchUsers(prefix, { limit: options.limit ?? DEFAULT_SEARCH_LIMIT });
        // A search has no cursor: narrowing the prefix is how to see the rest.
        const next = page.hasMore && prefix === undefined ? (page.users.at(-1)?.id ?? null) : null;
        if (options.json) {
          printJson(output, { users: page.users.map(userJson), hasMore: page.hasMore, next });
          return;
        }
        if (page.users.length === 0)
          output.line(
            prefix === undefined
              ? 'no users yet'
              : `no user's name starts with "${printable(prefix)}"`,
          );
        printTable(output, userRows(page.users));
        if (next) {
          const again = `messenger user list --limit ${options.limit ?? DEFAULT_PAGE_LIMIT} --after ${next}${redisFlag(globals())}`;
          output.notice(output.noticeColors.dim(`more: ${again}`));
        } else if (page.hasMore) {
          output.notice(
            output.noticeColors.dim('more: a longer --prefix, or a larger --limit, shows them'),
          );
        }
      });
    });

  user
    .command('show <user>')
    .description('show one user, by username or id')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  $ messenger user show alice')
    .action((name: string, options: { json?: boolean }) =>
      withPersonMessenger(globals(), output, async (messenger) => {
        const found = await resolveUser(messenger, name);
        if (options.json) printJson(output, userJson(found));
        else printTable(output, userRows([found]));
      }),
    );

  user
    .command('set-password <user>')
    .description('set the password a user logs in to the server with (asked without echo, twice)')
    .option('--password-stdin', 'read the password from standard input instead (for scripts)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ messenger user set-password alice\n  $ printf %s "$PASSWORD" | messenger user set-password alice --password-stdin',
    )
    .action((name: string, options: { passwordStdin?: boolean }) =>
      withMessenger(globals(), output, async (messenger) => {
        const found = await resolveUser(messenger, name);
        const password = await readPassword(input, output, Boolean(options.passwordStdin));
        // The server's rules and hash, so that this password logs in as a registered one does.
        // Loaded here: every other command would pay for loading the password hashing.
        const { hashPassword, passwordProblem } = await import('../../server/index.js');
        const problem = passwordProblem(password);
        if (problem) throw new UsageError(problem);
        await messenger.accounts.setPasswordHash(found.id, await hashPassword(password));
        // Whoever held a session (perhaps the one the reset is for) must sign in again.
        const ended = await messenger.accounts.endAllSessions(found.id);
        output.line(
          `password set for ${printable(found.username)}${ended > 0 ? `; ${ended} session${ended === 1 ? '' : 's'} ended` : ''}`,
        );
      }),
    );
}
