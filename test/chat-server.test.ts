/**
 * `messenger chat` through a server (--server, a token in MESSENGER_TOKEN), as real
 * processes on pipes: two chats live both ways with notices for other conversations, each
 * line once, then a session revoked while its chat runs closes it with the "log in again"
 * line. Chatting as another user than the signed-in one: test/cli-login.test.ts. The
 * restarts, the switch between instances and the dropped network are in
 * test/faults/chat-server.test.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RedisMessenger } from '../src/index.js';
import { createServer, type Server } from '../src/server/index.js';
import { ANSI, Chat, eventually, killAllChats, ready, TIME } from './support/chat-process.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { api } from './support/serve-process.js';

const PASSWORD = 'correct horse battery staple';

let redis: RedisServer;
let library: RedisMessenger;
let server: Server;
let base: string;
const config = mkdtempSync(join(tmpdir(), 'messenger-chat-config-'));

before(async () => {
  redis = await startRedisServer();
  library = await RedisMessenger.connect({ url: redis.url });
  server = await createServer({ messenger: library, origins: [], rateLimits: false });
  await server.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
});
after(async () => {
  killAllChats();
  await server?.close();
  await library?.close();
  await redis?.stop();
});

interface Person {
  name: string;
  id: string;
  token: string;
}

/** A user signed up through the API. */
async function signUp(base_: string): Promise<Person> {
  const name = `c${randomUUID().slice(0, 8)}`;
  const { status, json } = await api(base_, 'POST', '/register', undefined, {
    username: name,
    password: PASSWORD,
  });
  assert.equal(status, 201);
  return { name, id: json.user.id, token: json.token };
}

function chatOf(person: Person, as = person.name): Chat {
  return new Chat(as, { server: base, token: person.token, config });
}

describe('messenger chat through a server', () => {
  it('two chats live both ways, other conversations as notices, each line once; a session revoked meanwhile closes its chat: exit 1, "log in again"', async () => {
    const [alice, bob, carol] = await Promise.all([signUp(base), signUp(base), signUp(base)]);
    const [a, b] = [chatOf(alice), chatOf(bob)];
    try {
      await Promise.all([ready(a), ready(b)]);
      await Promise.all([
        a.command(`/to ${bob.name}`, 'No messages yet. Say hello!\n'),
        b.command(`/to ${alice.name}`, 'No messages yet. Say hello!\n'),
      ]);
      const bobBefore = b.mark();
      await a.command('Hello Bob, through the server', /you: Hello Bob, through the server\n/);
      await b.waitFor(
        new RegExp(`${TIME} {2}${alice.name}: Hello Bob, through the server\\n`),
        bobBefore,
      );
      const aliceBefore = a.mark();
      await b.command('Hi Alice', /you: Hi Alice\n/);
      await a.waitFor(new RegExp(`${TIME} {2}${bob.name}: Hi Alice\\n`), aliceBefore);

      const noticeSince = b.mark();
      await api(base, 'PUT', `/messages/${randomUUID()}`, carol.token, {
        to: bob.name,
        text: 'psst, bob',
      });
      await b.waitFor(
        `New message from ${carol.name}: psst, bob  (/to ${carol.name} to reply)\n`,
        noticeSince,
      );
      await b.command('/unread', `1 unread from ${carol.name}\n`);

      for (const [chat, text] of [
        [a, 'Hello Bob, through the server'],
        [b, 'Hello Bob, through the server'],
        [a, 'Hi Alice'],
        [b, 'Hi Alice'],
        [b, 'psst, bob'],
      ] as const) {
        assert.equal(chat.count(text), 1, `${chat.name} shows "${text}" once`);
      }
      assert.equal(a.count('psst'), 0);
      const page = await library.listConversation(alice.id, bob.id);
      assert.deepEqual(
        page.messages.map((m) => [m.senderId, m.text]),
        [
          [alice.id, 'Hello Bob, through the server'],
          [bob.id, 'Hi Alice'],
        ],
      );
      await eventually(
        async () => (await library.unreadCount(bob.id)).bySender,
        { [carol.id]: 1 },
        'bob unread',
      );
      assert.doesNotMatch(a.stdout + b.stdout, ANSI);
      assert.equal(a.stderr + b.stderr, '');
      b.end();
      assert.equal(await b.exitCode(), 0);

      // The session revoked while the chat runs (a logout elsewhere): it closes the chat.
      assert.equal((await api(base, 'POST', '/logout', alice.token)).status, 204);
      // The server closes the socket within a second; the rest is the process ending,
      // which takes seconds on a loaded machine.
      assert.equal(await a.exitCode(15_000), 1);
      const lines = a.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, a.stderr);
      assert.match(
        lines[0] as string,
        new RegExp(
          `^error: your session at ${base} has ended \\(expired, logged out or revoked\\): log in again: .*login ${alice.name} --server ${base}$`,
        ),
      );
      assert.doesNotMatch(a.stdout, /reconnecting/);
    } finally {
      a.kill();
      b.kill();
    }
  });
});
