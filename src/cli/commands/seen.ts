/**
 * `messenger seen <user> [--from <other>] [message-id...]`.
 * @module
 */
import type { Command } from 'commander';
import { validateId } from '../../index.js';
import { INVOCATION, withPersonMessenger } from '../connect.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../handle-error.js';
import { printable, shellWord } from '../output.js';
import { resolveUser } from '../people.js';
import { printJson } from '../present.js';

export function registerSeen(program: Command, { output, globals }: CommandContext): void {
  program
    .command('seen <user> [messageIds...]')
    .description('mark messages seen: the ones named, or every one from --from')
    .option('--from <other>', 'every message from this user')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ messenger seen bob --from alice\n  $ messenger seen bob 01a2...c3 01a2...c4',
    )
    .action((name: string, messageIds: string[], options: { from?: string; json?: boolean }) => {
      // Usage errors are found before connecting: they need no Redis.
      if (!options.from && messageIds.length === 0) {
        throw new UsageError('name message ids, or use --from <user>');
      }
      if (options.from && messageIds.length > 0) {
        throw new UsageError('give either message ids or --from, not both');
      }
      for (const id of messageIds) validateId(id, 'message id');
      return withPersonMessenger(globals(), output, async (messenger) => {
        const me = await resolveUser(messenger, name);
        const marked = options.from
          ? await messenger.markConversationSeen(
              me.id,
              (await resolveUser(messenger, options.from)).id,
            )
          : await messenger.markSeen(me.id, messageIds);
        if (options.json) {
          printJson(output, { marked });
          return;
        }
        // Fewer than named: say why, or "marked 0" reads like a failure with no cause.
        const skipped = options.from ? 0 : messageIds.length - marked;
        const why =
          skipped > 0
            ? ` (${skipped} of the ${messageIds.length} named ${skipped === 1 ? 'was' : 'were'} seen already, or not a message ${printable(me.username)} received: ${INVOCATION} inbox ${shellWord(printable(me.username))} lists those)`
            : '';
        output.line(`marked ${marked} message${marked === 1 ? '' : 's'} seen${why}`);
      });
    });
}
