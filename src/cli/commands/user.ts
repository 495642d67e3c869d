/**
 * `messenger user create|list|show`.
 * @module
 */
import type { Command } from 'commander';
import { validateUsername } from '../../index.js';
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
    .description('list users in the order they were created')
    .option('--limit <n>', `how many (${LIMIT_RANGE})`, parseLimit, 50)
    .option('--after <id>', 'continue after this user id (from an earlier page)', parseUserCursor)
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  $ messenger user list --limit 20')
    .action((options: { limit: number; after?: string; json?: boolean }) =>
      withPersonMessenger(globals(), output, async (messenger) => {
        const page = await messenger.listAllUsers({ limit: options.limit, after: options.after });
        const next = page.hasMore ? (page.users.at(-1)?.id ?? null) : null;
        if (options.json) {
          printJson(output, { users: page.users.map(userJson), hasMore: page.hasMore, next });
          return;
        }
        if (page.users.length === 0) output.line('no users yet');
        printTable(output, userRows(page.users));
        if (next) {
          const again = `messenger user list --limit ${options.limit} --after ${next}${redisFlag(globals())}`;
          output.notice(output.noticeColors.dim(`more: ${again}`));
        }
      }),
    );

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
