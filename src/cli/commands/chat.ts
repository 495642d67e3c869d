/**
 * `messenger chat <username> [--create]`: the interactive chat.
 * @module
 */
import type { Command } from 'commander';
import { UsernameNotFoundError } from '../../index.js';
import { ChatSession } from '../chat/session.js';
import { Terminal } from '../chat/terminal.js';
import { INVOCATION, redisFlag, withMessenger } from '../connect.js';
import type { CommandContext } from '../context.js';
import { CommandFailedError } from '../handle-error.js';
import { printable, shellWord } from '../output.js';
import { resolveUser } from '../people.js';

export function registerChat(program: Command, { output, globals }: CommandContext): void {
  program
    .command('chat <username>')
    .description('chat live as this user: /to <name> opens a conversation, /help lists the rest')
    .option('--create', 'create the user first if there is none of that name')
    .addHelpText(
      'after',
      '\nExample:\n  $ messenger chat alice --create\n  > /to bob\n  to bob> Hello, Bob!',
    )
    .action((username: string, options: { create?: boolean }) =>
      withMessenger(globals(), output, async (messenger) => {
        const me = await resolveUser(messenger, username).catch(async (error) => {
          if (!(error instanceof UsernameNotFoundError)) throw error;
          if (!options.create) {
            throw new CommandFailedError(
              `${error.message}: to create it and chat, run ${INVOCATION} chat ${shellWord(printable(username))} --create${redisFlag(globals())} (${INVOCATION} user list shows everyone)`,
              { cause: error },
            );
          }
          const id = await messenger.createUser(username);
          output.notice(`Created the user ${printable(username)}.`);
          return { id, username, createdAt: new Date() };
        });
        const terminal = new Terminal({ input: process.stdin, output: process.stdout });
        const session = new ChatSession(messenger, me, terminal, output, {
          redisFlag: redisFlag(globals()),
        });
        try {
          await session.start();
          await terminal.run(session);
        } finally {
          await session.close();
        }
        // A script that drives the chat must learn that some of its lines failed.
        if (!terminal.interactive && session.failures > 0) {
          throw new CommandFailedError(
            `${session.failures} of the chat's input lines failed (each said why above)`,
          );
        }
      }),
    );
}
