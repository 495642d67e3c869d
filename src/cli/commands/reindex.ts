/**
 * `messenger reindex`: builds the new indexes for data the original Python program
 * wrote. Safe to run again; the second run changes nothing.
 * @module
 */
import type { Command } from 'commander';
import { withMessenger } from '../connect.js';
import type { CommandContext } from '../context.js';
import { printable } from '../output.js';
import { printJson } from '../present.js';

export function registerReindex(program: Command, { output, globals }: CommandContext): void {
  program
    .command('reindex')
    .description(
      'index data written by the original program: names, user list, conversations, unread counts',
    )
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExample:\n  $ REDIS_URL=redis://127.0.0.1:6379 messenger reindex')
    .action((options: { json?: boolean }) =>
      withMessenger(globals(), output, async (messenger) => {
        const report = await messenger.reindex({
          onProgress: ({ done, total }) => output.progress('Indexing users', done, total),
        });
        if (options.json) {
          printJson(output, report);
          return;
        }
        output.line(`Indexed ${report.users} users and ${report.messages} messages.`);
        output.line(
          `Folded names added: ${report.namesFolded}; entries skipped: ${report.skipped}.`,
        );
        if (report.nameConflicts.length > 0) {
          output.line(
            `These names fold to a name another user holds; both users were kept: ${report.nameConflicts.map(printable).join(', ')}`,
          );
        }
      }),
    );
}
