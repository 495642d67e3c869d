/**
 * `messenger send <from> <to> <text>`.
 * @module
 */
import type { Command } from 'commander';
import {
  DEFAULT_TEXT_MAX_LENGTH,
  MessengerError,
  newMessageId,
  ValidationError,
  validateText,
} from '../../index.js';
import { withPersonMessenger } from '../connect.js';
import type { CommandContext } from '../context.js';
import { mayStillBeSent } from '../messenger.js';
import { parseId } from '../options.js';
import { printable } from '../output.js';
import { resolveUser } from '../people.js';
import { printJson } from '../present.js';

export function registerSend(program: Command, { output, globals }: CommandContext): void {
  program
    .command('send <from> <to> <text>')
    .description('send a message (users by username or id)')
    .option(
      '--id <uuid>',
      'a message id of your choosing: sending it again stores it once',
      parseId,
    )
    .option('--json', 'print the message id as JSON')
    .addHelpText('after', '\nExample:\n  $ messenger send alice bob "Hello, Bob!"')
    .action((from: string, to: string, text: string, options: { id?: string; json?: boolean }) => {
      // What can be judged without Redis is judged before connecting.
      validateText(text, DEFAULT_TEXT_MAX_LENGTH);
      if (from === to) throw new ValidationError('a user cannot send a message to themselves');
      return withPersonMessenger(globals(), output, async (messenger) => {
        const [sender, receiver] = await Promise.all([
          resolveUser(messenger, from),
          resolveUser(messenger, to),
        ]);
        // Chosen here, so that after an unclear failure the person can retry without a duplicate.
        const messageId = options.id ?? newMessageId();
        try {
          await messenger.sendMessage(sender.id, receiver.id, text, { messageId });
        } catch (error) {
          if (!mayStillBeSent(error)) throw error;
          throw new MessengerError(
            `${(error as Error).message}; the message may have been stored: to retry without a duplicate, run the same command with --id ${messageId}`,
            { cause: error },
          );
        }
        if (options.json) printJson(output, { id: messageId });
        else output.line(`sent to ${printable(receiver.username)} ${output.colors.dim(messageId)}`);
      });
    });
}
