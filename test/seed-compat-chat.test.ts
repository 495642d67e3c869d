/**
 * `messenger chat` (real processes on pipes) beside the original program
 * (test/support/seed-program.ts) on one Redis: the line that says its messages are not
 * live when Redis keyspace notifications are off, the `/to` hint that `reindex` would show
 * a conversation it wrote, and, with notifications on, its messages arriving live.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, type RedisClientType } from 'redis';
import { RedisMessenger } from '../src/index.js';
import { killAllChats, ready, withChats } from './support/chat-process.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { SeedProgram } from './support/seed-program.js';
import { exitOf, spawnServe, startupLine } from './support/serve-process.js';
import { eventually } from './support/wait.js';

let plain: RedisServer;
let notifying: RedisServer;
const clients: RedisClientType[] = [];

before(async () => {
  [plain, notifying] = await Promise.all([
    startRedisServer(),
    startRedisServer(['--notify-keyspace-events', 'KEA']),
  ]);
});
after(async () => {
  killAllChats();
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all([plain?.stop(), notifying?.stop()]);
});

async function seedOn(server: RedisServer): Promise<SeedProgram> {
  const client: RedisClientType = createClient({ url: server.url });
  await client.connect();
  clients.push(client);
  return new SeedProgram(client);
}

describe('messenger chat beside the original program', () => {
  it('says, over a conversation only the original wrote, that reindex shows it and what is live', async () => {
    const seed = await seedOn(plain);
    const alice = await seed.createUser('alice');
    const bob = await seed.createUser('bob');
    for (let i = 0; i < 185; i++) await seed.sendMessage(alice, bob, `m${i}`);

    await withChats(plain.url, ['bob'], async (chat) => {
      await ready(chat);
      // Nothing about it at the start: most chats never meet the original program.
      assert.equal(chat.stderr, '');
      const since = chat.mark();
      await chat.command(
        '/to alice',
        new RegExp(
          `No messages in this conversation yet, but your inboxes hold 185 between you that another program wrote: .+ reindex --redis ${plain.url} shows them here\\.\n`,
        ),
      );
      // Then, in one line, what is live here and what needs reindex.
      await chat.waitFor(
        /The original program's are not live: .*reindex.*CONFIG SET notify-keyspace-events Kz \(now ""\)\.\n/,
        since,
      );
      assert.equal(chat.stdout.slice(since).match(/Live: /g)?.length, 1, 'one line');
    });

    const messenger = await RedisMessenger.connect({ url: plain.url });
    try {
      await messenger.reindex();
    } finally {
      await messenger.close();
    }
    await withChats(plain.url, ['bob'], async (chat) => {
      await ready(chat);
      const since = chat.mark();
      await chat.command('/to alice', /m184\n/);
      assert.doesNotMatch(chat.stdout.slice(since), /No messages/);
    });
  });

  it('with keyspace notifications on: says nothing more, and shows its messages live', async () => {
    const seed = await seedOn(notifying);
    const alice = await seed.createUser('alice');
    const bob = await seed.createUser('bob');
    await withChats(notifying.url, ['bob'], async (chat) => {
      await ready(chat);
      await chat.command('/to alice', 'No messages yet. Say hello!');
      const since = chat.mark();
      await seed.sendMessage(alice, bob, 'from the original, live');
      await chat.waitFor('from the original, live', since, 5000);
      assert.doesNotMatch(chat.stderr, /Live: /);
    });
  });

  it('messenger serve says in its log what is live', async () => {
    const child = spawnServe(['--redis', notifying.url, '--port', '0']);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    try {
      await startupLine(child);
      // Printed before it listens, on standard error: a separate pipe, read separately.
      const line =
        /^Live: every message, the original program's too \(Redis keyspace notifications are on\)/m;
      await eventually(() => line.test(stderr), 5000, 'the live line');
    } finally {
      child.kill('SIGTERM');
      await exitOf(child);
    }
  });
});
