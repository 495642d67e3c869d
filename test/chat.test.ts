/**
 * `messenger chat` as real processes on pipes (no terminal: plain lines, no prompt),
 * driven line by line, against throwaway Redis servers. Every chat is killed at the end
 * of its test, and again in `after` should a test fail half-way.
 */
import './support/config-home.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { Keys } from '../src/core/keys.js';
import { RedisMessenger } from '../src/index.js';
import type { RedisConnection } from '../src/redis/connect.js';
import { fillBigInbox } from './support/big-inbox.js';
import {
  ANSI,
  Chat,
  eventually,
  killAllChats,
  ready,
  TIME,
  withChats,
} from './support/chat-process.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';

let server: RedisServer;
let library: RedisMessenger;

before(async () => {
  server = await startRedisServer();
  library = await RedisMessenger.connect({ url: server.url });
});
after(async () => {
  killAllChats();
  await library?.close();
  await server?.stop();
});

let counter = 0;
interface Person {
  name: string;
  id: string;
}

/** Fresh users for one test (names never repeat on the shared server). */
async function users<const T extends string[]>(...bases: T): Promise<{ [K in keyof T]: Person }> {
  counter += 1;
  const people = await Promise.all(
    bases.map(async (base) => {
      const name = `${base}${counter}`;
      return { name, id: await library.createUser(name) };
    }),
  );
  return people as { [K in keyof T]: Person };
}

describe('messenger chat', () => {
  it('the start screen (who, unread per sender, conversations), then /to: history, marked seen', async () => {
    const [alice, bob, carol, dan] = await users('alice', 'bob', 'carol', 'dan');
    await library.sendMessage(alice.id, bob.id, 'first');
    await library.sendMessage(bob.id, alice.id, 'my answer');
    await library.sendMessage(alice.id, bob.id, 'second');
    await library.sendMessage(alice.id, bob.id, 'third');
    await library.sendMessage(bob.id, dan.id, 'to dan');
    await library.sendMessage(carol.id, bob.id, 'from carol');

    await withChats(server.url, [bob.name], async (chat) => {
      await ready(chat);
      const [greeting, ...rest] = chat.stdout.split('\n');
      assert.equal(greeting, `You are ${bob.name}. /help lists the commands.`);
      assert.deepEqual(rest.slice(0, 2), [
        `3 unread from ${alice.name}`,
        `1 unread from ${carol.name}`,
      ]);
      // by recent activity: carol wrote last, then bob wrote to dan, then alice
      assert.equal(rest[2], 'Conversations:');
      assert.match(rest[3] ?? '', new RegExp(`^  ${carol.name}  ${TIME}  1 unread$`));
      assert.match(rest[4] ?? '', new RegExp(`^  ${dan.name}  ${TIME}$`));
      assert.match(rest[5] ?? '', new RegExp(`^  ${alice.name}  ${TIME}  3 unread$`));
      assert.doesNotMatch(chat.stdout, ANSI);
      assert.doesNotMatch(chat.stdout, /(^|\n)(to \S+)?> /, 'a prompt on a pipe');

      const since = chat.mark();
      chat.send(`/to ${alice.name}`);
      chat.send('/unread'); // handled after /to has finished
      const end = await chat.waitFor(`1 unread from ${carol.name}\n`, since);
      assert.match(
        chat.stdout.slice(since, end),
        new RegExp(
          `^— conversation with ${alice.name} —\\n` +
            `${TIME} {2}${alice.name}: first •\\n` +
            `${TIME} {2}you: my answer\\n` +
            `${TIME} {2}${alice.name}: second •\\n` +
            `${TIME} {2}${alice.name}: third •\\n` +
            `1 unread from ${carol.name}\\n$`,
        ),
      );
      assert.deepEqual(await library.unreadCount(bob.id), {
        total: 1,
        bySender: { [carol.id]: 1 },
      });
      const page = await library.listConversation(bob.id, alice.id);
      const received = page.messages.filter((m) => m.receiverId === bob.id);
      assert.equal(received.length, 3);
      assert.ok(received.every((m) => m.seen));
      assert.equal(chat.stderr, '');
      chat.send('/quit');
      assert.equal(await chat.exitCode(), 0);
    });
  });

  it('a message that arrives while /to opens its conversation is shown once, and as seen', async () => {
    const [alice, bob] = await users('alice', 'bob');
    // So many unseen that marking the conversation seen takes a while after the history
    // is shown: a message arriving meanwhile is held back, then shown when /to is done.
    const raw = createClient({ url: server.url });
    await raw.connect();
    try {
      await fillBigInbox(raw as RedisConnection, new Keys(), { a: alice.id, b: bob.id }, 30_000);
    } finally {
      raw.destroy();
    }
    await withChats(server.url, [bob.name], async (chat) => {
      await ready(chat);
      const since = chat.mark();
      chat.send(`/to ${alice.name}`);
      await chat.waitFor(`${alice.name}: message 29999 •\n`, since);
      await library.sendMessage(alice.id, bob.id, 'while opening');
      const at = await chat.waitFor(/while opening.*\n/, since);
      await eventually(async () => (await library.unreadCount(bob.id)).total, 0, 'all marked seen');
      const end = at - 1; // the line's newline
      const line = chat.stdout.slice(chat.stdout.lastIndexOf('\n', end - 1) + 1, end);
      // Shown in the open conversation and marked seen: no unseen mark (it had one).
      assert.match(line, new RegExp(`^${TIME} {2}${alice.name}: while opening$`));
      assert.equal(chat.stdout.split('while opening').length, 2, 'shown once');
      chat.send('/quit');
      assert.equal(await chat.exitCode(), 0);
    });
  });

  it('two chats exchange messages live, in both directions', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    await withChats(server.url, [alice.name, bob.name], async (a, b) => {
      await Promise.all([ready(a), ready(b)]);
      await Promise.all([
        a.command(`/to ${bob.name}`, 'No messages yet. Say hello!\n'),
        b.command(`/to ${alice.name}`, 'No messages yet. Say hello!\n'),
      ]);

      const bobBefore = b.mark();
      await a.command('Hello Bob, live!', new RegExp(`${TIME} {2}you: Hello Bob, live!\\n`));
      await b.waitFor(new RegExp(`${TIME} {2}${alice.name}: Hello Bob, live!\\n`), bobBefore);

      const aliceBefore = a.mark();
      await b.command('Hi Alice, got it.', new RegExp(`${TIME} {2}you: Hi Alice, got it\\.\\n`));
      await a.waitFor(new RegExp(`${TIME} {2}${bob.name}: Hi Alice, got it\\.\\n`), aliceBefore);

      // a second round, to show it keeps going
      await a.command('And again', 'you: And again\n');
      await b.waitFor(`${alice.name}: And again\n`, bobBefore);

      // each line once, on each side; messages in the open conversation are marked seen
      assert.equal(a.count('Hello Bob, live!'), 1);
      assert.equal(b.count('Hello Bob, live!'), 1);
      assert.equal(a.count('Hi Alice, got it.'), 1);
      assert.equal(b.count('Hi Alice, got it.'), 1);
      assert.doesNotMatch(a.stdout + b.stdout, /•/);
      const page = await library.listConversation(alice.id, bob.id);
      assert.deepEqual(
        page.messages.map((m) => [m.senderId, m.text]),
        [
          [alice.id, 'Hello Bob, live!'],
          [bob.id, 'Hi Alice, got it.'],
          [alice.id, 'And again'],
        ],
      );
      await eventually(async () => (await library.unreadCount(bob.id)).total, 0, 'bob unread');
      await eventually(async () => (await library.unreadCount(alice.id)).total, 0, 'alice unread');

      // a message from someone else is a one-line notice, and stays unread
      const noticeSince = b.mark();
      await library.sendMessage(carol.id, bob.id, 'psst, bob\nsecond \u001b[31mline');
      await b.waitFor(
        `New message from ${carol.name}: psst, bob second \\u001b[31mline  (/to ${carol.name} to reply)\n`,
        noticeSince,
      );
      assert.equal(a.count('psst'), 0);
      // The chat has handled everything before this command when it answers: nothing
      // marked the notice seen.
      await b.command('/unread', `1 unread from ${carol.name}\n`);
      assert.deepEqual(await library.unreadCount(bob.id), {
        total: 1,
        bySender: { [carol.id]: 1 },
      });
      assert.doesNotMatch(a.stdout + b.stdout, ANSI);
    });
  });

  it('commands: /history n, /users, /contacts, /add, /unread, /help, unknown ones', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    for (const text of ['m1', 'm2', 'm3']) await library.sendMessage(alice.id, bob.id, text);

    await withChats(server.url, [bob.name], async (chat) => {
      await ready(chat);
      await chat.command('/history 2', 'Open a conversation first: /to <name>\n');
      await chat.command('hello?', 'Open a conversation first: /to <name>\n');
      await chat.command('/to', 'Whom to? /to <name>\n');
      await chat.command('/to nobody-here', /no user is named "nobody-here"\n/);
      await chat.command(`/to ${bob.name}`, 'That is you; pick someone else.\n');
      await chat.command(`/to ${alice.name}`, `${alice.name}: m3 •\n`);

      // /history 2: exactly the last two messages (the marker command delimits them)
      const since = chat.mark();
      chat.send('/history 2');
      chat.send('/unread');
      const end = await chat.waitFor('No unread messages.\n', since);
      assert.match(
        chat.stdout.slice(since, end),
        new RegExp(
          `^${TIME} {2}${alice.name}: m2\\n${TIME} {2}${alice.name}: m3\\nNo unread messages\\.\\n$`,
        ),
      );
      for (const bad of ['0', '-3', 'abc', '1001']) {
        await chat.command(`/history ${bad}`, '/history takes a whole number from 1 to 1000\n');
      }

      const usersAt = await chat.command('/users', /Users: .*\n/);
      const usersLine = chat.stdout.slice(0, usersAt).trimEnd().split('\n').at(-1)?.slice(7);
      const listed = usersLine?.split(', ') ?? [];
      assert.ok(listed.includes(`${bob.name} (you)`), usersLine);
      assert.ok(listed.includes(alice.name), usersLine);
      assert.ok(listed.includes(carol.name), usersLine);

      await chat.command('/contacts', 'No contacts yet: /add <name>\n');
      await chat.command('/add', 'Add whom? /add <name>\n');
      await chat.command(`/add ${carol.name}`, `Added ${carol.name}.\n`);
      await chat.command(`/add ${alice.name}`, `Added ${alice.name}.\n`);
      await chat.command(`/add ${alice.name}`, `${alice.name} already is a contact.\n`);
      await chat.command('/add ghost-person', /no user is named "ghost-person"\n/);
      await chat.command('/contacts', `Contacts: ${alice.name}, ${carol.name}\n`);
      assert.deepEqual(
        (await library.listContacts(bob.id)).map((u) => u.username),
        [alice.name, carol.name],
      );

      await library.sendMessage(carol.id, bob.id, 'c1');
      await library.sendMessage(carol.id, bob.id, 'c2');
      await chat.command('/unread', `2 unread from ${carol.name}\n`);

      const helpStart = chat.mark();
      const helpEnd = await chat.command('/help', /\/quit .*\n/);
      const helpLines = chat.stdout.slice(helpStart, helpEnd).trimEnd().split('\n');
      assert.deepEqual(
        helpLines.map((line) => line.split(' ')[0]),
        ['/to', '<text>', '/history', '/users', '/contacts', '/add', '/unread', '/help', '/quit'],
      );
      // the descriptions line up in one column
      const column = new Set(
        helpLines.map((line) => {
          const gap = / {2,}/.exec(line);
          return gap ? gap.index + gap[0].length : -1;
        }),
      );
      assert.equal(column.size, 1, helpLines.join('\n'));
      await chat.command(
        'x'.repeat(4097),
        'Not sent: a message must be at most 4096 characters long\n',
      );
      await chat.command('/bogus', 'Unknown command /bogus; /help lists the commands.\n');
      await chat.command('/TO alice', 'Unknown command /TO; /help lists the commands.\n');

      // still running, and still sending to the open conversation
      await chat.command('still here', 'you: still here\n');
      assert.equal(chat.child.exitCode, null);
      assert.equal(chat.stderr, '');
      chat.send('/quit');
      // Its input is a pipe, so the lines that failed make the exit code say so.
      assert.equal(await chat.exitCode(), 1);
      assert.equal(
        chat.stderr,
        "error: 14 of the chat's input lines failed (each said why above)\n",
      );
    });
  });

  it('/quit, the end of input and SIGINT each exit with code 0, promptly', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    await withChats(server.url, [alice.name, bob.name, carol.name], async (a, b, c) => {
      await Promise.all([ready(a), ready(b), ready(c)]);
      const timed = async (chat: Chat, leave: () => void) => {
        const start = Date.now();
        leave();
        const code = await chat.exitCode(3000);
        return { code, ms: Date.now() - start };
      };
      const [quit, eof, sigint] = await Promise.all([
        timed(a, () => a.send('/quit')),
        timed(b, () => b.end()),
        timed(c, () => c.child.kill('SIGINT')),
      ]);
      assert.equal(quit.code, 0, a.stderr);
      assert.equal(eof.code, 0, b.stderr);
      assert.equal(sigint.code, 0, c.stderr);
      for (const { ms } of [quit, eof, sigint]) assert.ok(ms < 2000, `took ${ms} ms to exit`);
      assert.equal(a.stderr + b.stderr + c.stderr, '');
    });
  });

  it('piped input: every line is handled before it exits at the end of input', async () => {
    const [alice, bob] = await users('alice', 'bob');
    await withChats(server.url, [alice.name], async (chat) => {
      // written at once, before the chat has even connected, then the input ends
      chat.child.stdin.end(`/to ${bob.name}\nhello\nsecond line\n/add ${bob.name}\nthird\n`);
      assert.equal(await chat.exitCode(10_000), 0, chat.stderr);
      const page = await library.listConversation(alice.id, bob.id);
      assert.deepEqual(
        page.messages.map((m) => [m.senderId, m.text]),
        [
          [alice.id, 'hello'],
          [alice.id, 'second line'],
          [alice.id, 'third'],
        ],
      );
      assert.deepEqual(
        (await library.listContacts(alice.id)).map((u) => u.id),
        [bob.id],
      );
      assert.match(chat.stdout, /you: hello\n.*you: second line\n.*\n.*you: third\n$/);
    });
  });

  it('a script whose lines fail exits 1, one error line; the lines after a failure still run', async () => {
    const [alice, bob] = await users('alice', 'bob');
    await withChats(server.url, [alice.name], async (chat) => {
      chat.child.stdin.end(`/to nobody-at-all\nhello\n/to ${bob.name}\nthis one is sent\n`);
      assert.equal(await chat.exitCode(10_000), 1);
      assert.equal(
        chat.stderr,
        "error: 2 of the chat's input lines failed (each said why above)\n",
      );
      assert.match(chat.stdout, /no user is named "nobody-at-all"\nOpen a conversation first/);
      assert.deepEqual(
        (await library.listConversation(alice.id, bob.id)).messages.map((m) => m.text),
        ['this one is sent'],
      );
    });
  });

  it('an unknown user fails with exit 1; --create makes the user first', async () => {
    counter += 1;
    const name = `fresh${counter}`;
    const unknown = new Chat(name, server.url);
    try {
      assert.equal(await unknown.exitCode(10_000), 1);
      assert.equal(
        unknown.stderr,
        `error: no user is named "${name}": to create it and chat, run npm run messenger -- chat ${name} --create --redis ${server.url} (npm run messenger -- user list shows everyone)\n`,
      );
      assert.equal(unknown.stdout, '');
      assert.equal(await library.findUserByUsername(name), null);
    } finally {
      unknown.kill();
    }
    const created = new Chat(name, server.url, ['--create']);
    try {
      await ready(created);
      // someone with nothing yet: the greeting alone (then the output of /users)
      assert.match(
        created.stdout,
        new RegExp(`^You are ${name}\\. /help lists the commands\\.\\nUsers: `),
      );
      assert.equal((await library.findUserByUsername(name))?.username, name);
      created.end();
      assert.equal(await created.exitCode(), 0);
    } finally {
      created.kill();
    }
  });
});
