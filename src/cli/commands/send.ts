/**
 * `messenger send <from> <to> <text>`.
 * @module
 */
import type { Command } from 'commander';
import { withMessenger } from '../connect.js';
import type { CommandContext } from '../main.js';
import { resolveUser } from '../people.js';
import { printJson } from '../present.js';

export function registerSend(program: Command, { output, globals }: CommandContext): void {
  program
    .command('send <from> <to> <text>')
    .description('send a message (users by username or id)')
    .option('--id <uuid>', 'a message id of your choosing: sending it again stores it once')
    .option('--json', 'print the message id as JSON')
    .addHelpText('after', '\nExample:\n  $ messenger send alice bob "Hello, Bob!"')
    .action((from: string, to: string, text: string, options: { id?: string; json?: boolean }) =>
      withMessenger(globals(), output, async (messenger) => {
        const [sender, receiver] = await Promise.all([
          resolveUser(messenger, from),
          resolveUser(messenger, to),
        ]);
        const id = await messenger.sendMessage(sender.id, receiver.id, text, {
          messageId: options.id,
        });
        if (options.json) printJson(output, { id });
        else output.line(`sent to ${receiver.username} ${output.colors.dim(id)}`);
      }),
    );
}
