/**
 * `messenger demo`: what the original program's main() did. Creates Alice and Bob (or
 * finds them, so it runs again on the same Redis), sends "Hello, Bob!", and prints
 * Bob's messages and all users.
 * @module
 */
import type { Command } from 'commander';
import { UsernameTakenError } from '../../core/errors.js';
import type { RedisMessenger } from '../../core/messenger.js';
import { withMessenger } from '../connect.js';
import type { CommandContext } from '../main.js';
import { formatTime, printable } from '../output.js';

async function createOrFind(
  messenger: RedisMessenger,
  username: string,
): Promise<[string, boolean]> {
  try {
    return [await messenger.createUser(username), true];
  } catch (error) {
    if (!(error instanceof UsernameTakenError)) throw error;
    const user = await messenger.findUserByUsername(username);
    if (!user) throw error;
    return [user.id, false];
  }
}

export function registerDemo(program: Command, { output, globals }: CommandContext): void {
  program
    .command('demo')
    .description('create Alice and Bob, send "Hello, Bob!", list Bob\'s messages and all users')
    .addHelpText('after', '\nExample:\n  $ messenger demo --redis redis://127.0.0.1:6379')
    .action(() =>
      withMessenger(globals(), output, async (messenger) => {
        const { bold, dim } = output.colors;
        const names = new Map<string, string>();
        for (const username of ['Alice', 'Bob']) {
          const [id, created] = await createOrFind(messenger, username);
          names.set(id, username);
          output.line(`${created ? 'Created' : 'Found'} user ${bold(username)} ${dim(id)}`);
        }
        const [alice, bob] = [...names.keys()] as [string, string];
        const messageId = await messenger.sendMessage(alice, bob, 'Hello, Bob!');
        output.line(`Alice sent "Hello, Bob!" to Bob ${dim(messageId)}`);

        const { messages, hasOlder } = await messenger.listUserMessages(bob, { limit: 10 });
        output.line();
        output.line(bold(`Bob's messages${hasOlder ? ' (the newest 10)' : ''}:`));
        for (const message of messages) {
          const sender =
            names.get(message.senderId) ?? (await messenger.getUser(message.senderId))?.username;
          output.line(
            `  ${dim(formatTime(message.sentAt))}  ${sender ?? message.senderId}: ${printable(message.text)}`,
          );
        }

        const { users, hasMore } = await messenger.listAllUsers({ limit: 100 });
        output.line();
        output.line(bold(`All users${hasMore ? ' (the first 100)' : ''}:`));
        const width = Math.max(...users.map((u) => u.username.length));
        for (const user of users)
          output.line(`  ${printable(user.username).padEnd(width)}  ${dim(user.id)}`);
      }),
    );
}
