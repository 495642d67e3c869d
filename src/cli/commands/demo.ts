/**
 * `messenger demo`: what the original program's main() did. Creates Alice and Bob (or
 * finds them, so it runs again on the same Redis), sends "Hello, Bob!", and prints
 * Bob's messages and all users. It says which Redis it writes to, and a second run on
 * the same Redis adds nothing.
 * @module
 */
import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { type RedisMessenger, type User, UsernameTakenError } from '../../index.js';
import { withMessenger } from '../connect.js';
import type { CommandContext } from '../context.js';
import { printable } from '../output.js';
import { NameBook } from '../people.js';
import { messageLine, printTable } from '../present.js';

async function createOrFind(messenger: RedisMessenger, username: string): Promise<[User, boolean]> {
  try {
    const id = await messenger.createUser(username);
    return [{ id, username, createdAt: new Date() }, true];
  } catch (error) {
    if (!(error instanceof UsernameTakenError)) throw error;
    const user = await messenger.findUserByUsername(username);
    if (!user) throw error;
    return [user, false];
  }
}

/**
 * The id of the demo's message from `from` to `to`: derived from both ids, so that every
 * run sends the same message with the same id, which the messenger stores once. A UUIDv8
 * (RFC 9562's layout for ids made by other means) from SHA-256.
 */
export function demoMessageId(from: string, to: string): string {
  const hex = createHash('sha256').update(`redis-messenger demo ${from} ${to}`).digest('hex');
  const variant = ((Number.parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function registerDemo(program: Command, { output, globals }: CommandContext): void {
  program
    .command('demo')
    .description('create Alice and Bob, send "Hello, Bob!", list Bob\'s messages and all users')
    .addHelpText('after', '\nExample:\n  $ messenger demo --redis redis://127.0.0.1:6379')
    .action(() =>
      withMessenger(globals(), output, async (messenger, redis) => {
        // It writes users and a message: whoever runs it must know into which Redis.
        output.notice(`Using the Redis at ${redis.description}.`);
        const { bold, dim } = output.colors;
        const people: User[] = [];
        let createdAny = false;
        for (const username of ['Alice', 'Bob']) {
          const [user, created] = await createOrFind(messenger, username);
          people.push(user);
          createdAny ||= created;
          output.line(
            `${created ? 'Created' : 'Found'} user ${bold(printable(user.username))} ${dim(user.id)}`,
          );
        }
        const [alice, bob] = people as [User, User];
        const messageId = await messenger.sendMessage(alice.id, bob.id, 'Hello, Bob!', {
          messageId: demoMessageId(alice.id, bob.id),
        });
        output.line(
          `${printable(alice.username)} sent "Hello, Bob!" to ${printable(bob.username)} ${dim(messageId)}${createdAny ? '' : ' (sent before: stored once)'}`,
        );

        const { messages, hasOlder } = await messenger.listUserMessages(bob.id, { limit: 10 });
        const names = new NameBook(messenger, people);
        await names.learn(messages.map((m) => m.senderId));
        output.line();
        output.line(
          bold(`${printable(bob.username)}'s messages${hasOlder ? ' (the newest 10)' : ''}:`),
        );
        for (const message of messages) output.line(`  ${messageLine(message, names, output)}`);

        const { users, hasMore } = await messenger.listAllUsers({ limit: 100 });
        output.line();
        output.line(bold(`All users${hasMore ? ' (the first 100)' : ''}:`));
        printTable(
          output,
          users.map((user) => ['', printable(user.username), dim(user.id)]),
        );
      }),
    );
}
