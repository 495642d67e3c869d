/**
 * Compatibility with the original Python program, both ways, on the seed's exact key
 * names (no namespace): what the original wrote reads correctly through RedisMessenger,
 * and what RedisMessenger writes reads correctly through the original's algorithm
 * (test/support/seed-program.ts). Each test starts from an empty throwaway server.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { createClient, type RedisClientType } from 'redis';
import { type Message, RedisMessenger, UsernameTakenError } from '../src/index.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { type SeedHash, SeedProgram } from './support/seed-program.js';

let server: RedisServer;
let raw: RedisClientType;
let seed: SeedProgram;
let messenger: RedisMessenger;

before(async () => {
  server = await startRedisServer();
  raw = createClient({ url: server.url });
  await raw.connect();
  seed = new SeedProgram(raw);
});
after(async () => {
  await raw?.close();
  await server?.stop();
});
beforeEach(async () => {
  // Allowed only because this test started the server: it is nobody else's data.
  await raw.flushAll();
  messenger = await RedisMessenger.connect({ url: server.url });
});
afterEach(async () => {
  await messenger?.close();
});

/** Float seconds written the way Python's repr(time.time()) writes them. */
function pythonSeconds(seconds: number): string {
  const text = String(seconds);
  return /[.e]/.test(text) ? text : `${text}.0`;
}

/** A message hash and inbox entry written with raw commands, as the seed's schema says. */
async function writeSeedMessage(fields: {
  senderId: string;
  receiverId: string;
  text: string;
  timestamp: string;
  receiverField?: 'receiver_id' | 'recipient_id';
  seen?: 'True' | 'False';
}): Promise<string> {
  const id = randomUUID();
  await raw.hSet(`message:${id}`, {
    message_id: id,
    sender_id: fields.senderId,
    [fields.receiverField ?? 'receiver_id']: fields.receiverId,
    message: fields.text,
    timestamp: fields.timestamp,
    ...(fields.seen === undefined ? {} : { seen: fields.seen }),
  });
  await raw.zAdd(`user_messages:${fields.receiverId}`, {
    score: Number(fields.timestamp),
    value: `message:${id}`,
  });
  return id;
}

/** A user written with raw commands: the schema's two fields, plus created_at if given. */
async function writeSeedUser(username: string, createdAt?: string): Promise<string> {
  const id = randomUUID();
  await raw.hSet(`user:${id}`, {
    user_id: id,
    username,
    ...(createdAt === undefined ? {} : { created_at: createdAt }),
  });
  await raw.hSet('usernames', username, id);
  return id;
}

/**
 * The ids of these messages in the order the seed's sorted set defines, computed here from
 * the stored hashes rather than read from the index: by timestamp, then by member.
 */
async function timestampOrder(ids: string[]): Promise<string[]> {
  const stamped = await Promise.all(
    ids.map(async (id) => {
      const timestamp = await raw.hGet(`message:${id}`, 'timestamp');
      assert.ok(timestamp !== null, `message:${id} has no timestamp`);
      return { id, seconds: Number(timestamp), member: `message:${id}` };
    }),
  );
  stamped.sort((a, b) =>
    a.seconds !== b.seconds ? a.seconds - b.seconds : a.member < b.member ? -1 : 1,
  );
  return stamped.map((s) => s.id);
}

function sortedIds(items: { id: string }[]): string[] {
  return items.map((item) => item.id).sort();
}

function assertSentAt(message: Message | undefined, timestamp: string): void {
  assert.ok(message, 'message missing');
  const expected = Number(timestamp) * 1000;
  assert.ok(
    Math.abs(message.sentAt.getTime() - expected) < 1,
    `sentAt ${message.sentAt.toISOString()} is not timestamp ${timestamp}`,
  );
}

describe('data the original program wrote, read through RedisMessenger', () => {
  it('lists, finds and reads its users with no migration step', async () => {
    const alice = await seed.createUser('alice');
    const bob = await seed.createUser('Bob');
    const schemaOnly = await writeSeedUser('Schema Only');
    const python = await writeSeedUser('py', pythonSeconds(Date.now() / 1000 - 3600.1234567));

    const { users, hasMore } = await messenger.listAllUsers();
    assert.equal(hasMore, false);
    assert.deepEqual(sortedIds(users), [alice, bob, schemaOnly, python].sort());
    const names = Object.fromEntries(users.map((u) => [u.id, u.username]));
    assert.deepEqual(names, {
      [alice]: 'alice',
      [bob]: 'Bob',
      [schemaOnly]: 'Schema Only',
      [python]: 'py',
    });
    // Listed in the order of created_at: no created_at counts as the oldest.
    const times = users.map((u) => u.createdAt.getTime());
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    );
    assert.equal(users[0]?.id, schemaOnly);
    assert.equal(users[1]?.id, python);

    const bobHash = await raw.hGetAll(`user:${bob}`);
    const gotBob = await messenger.getUser(bob);
    assert.equal(gotBob?.id, bob);
    assert.equal(gotBob?.username, 'Bob');
    assert.ok(
      gotBob && Math.abs(gotBob.createdAt.getTime() - Number(bobHash.created_at) * 1000) < 1,
      `createdAt ${gotBob?.createdAt.toISOString()} is not created_at ${bobHash.created_at}`,
    );
    assert.equal((await messenger.getUser(schemaOnly))?.username, 'Schema Only');
    const pythonCreatedAt = (await raw.hGet(`user:${python}`, 'created_at')) ?? '';
    const gotPython = await messenger.getUser(python);
    assert.ok(
      gotPython && Math.abs(gotPython.createdAt.getTime() - Number(pythonCreatedAt) * 1000) < 1,
      `createdAt ${gotPython?.createdAt.toISOString()} is not created_at ${pythonCreatedAt}`,
    );

    assert.equal((await messenger.findUserByUsername('alice'))?.id, alice);
    assert.equal((await messenger.findUserByUsername('Bob'))?.id, bob);
    assert.equal((await messenger.findUserByUsername('Schema Only'))?.id, schemaOnly);
    assert.equal(await messenger.findUserByUsername('Carol'), null);
  });

  it('lists users the original adds after the library has indexed its own', async () => {
    const first = await messenger.createUser('first');
    assert.deepEqual(sortedIds((await messenger.listAllUsers()).users), [first]);
    const second = await seed.createUser('second');
    const third = await messenger.createUser('third');
    const fourth = await seed.createUser('fourth');

    const all = await messenger.listAllUsers();
    assert.deepEqual(
      all.users.map((u) => u.id),
      [first, second, third, fourth],
    );
    const paged: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await messenger.listAllUsers({ limit: 1, after: cursor });
      paged.push(...page.users.map((u) => u.id));
      if (!page.hasMore) break;
      cursor = page.users.at(-1)?.id;
    }
    assert.deepEqual(paged, [first, second, third, fourth]);
  });

  it('reads its inboxes in timestamp order, recipient_id and missing seen included', async () => {
    const alice = await seed.createUser('alice');
    const bob = await seed.createUser('bob');
    const carol = await writeSeedUser('carol', pythonSeconds(Date.now() / 1000 - 7200));
    const base = Date.now() / 1000 - 60;
    // Written out of time order on purpose: the sorted set, not the write order, decides.
    const later = await writeSeedMessage({
      senderId: carol,
      receiverId: alice,
      text: 'schema spelling',
      timestamp: pythonSeconds(base + 30.1234567),
      receiverField: 'recipient_id',
    });
    const earlier = await writeSeedMessage({
      senderId: bob,
      receiverId: alice,
      text: 'no seen field',
      timestamp: pythonSeconds(base + 0.5),
    });
    const fromSeed = await seed.sendMessage(bob, alice, 'Hello, Alice! ✓ “quotes” \n newline');
    const toBob = await seed.sendMessage(alice, bob, 'Hi Bob');

    const page = await messenger.listUserMessages(alice);
    assert.equal(page.hasOlder, false);
    assert.equal(page.hasNewer, false);
    assert.deepEqual(
      page.messages.map((m) => m.id),
      [earlier, later, fromSeed],
    );
    const [first, second, third] = page.messages;
    assert.deepEqual(
      {
        sender: first?.senderId,
        receiver: first?.receiverId,
        text: first?.text,
        seen: first?.seen,
      },
      { sender: bob, receiver: alice, text: 'no seen field', seen: true },
    );
    assert.deepEqual(
      {
        sender: second?.senderId,
        receiver: second?.receiverId,
        text: second?.text,
        seen: second?.seen,
      },
      { sender: carol, receiver: alice, text: 'schema spelling', seen: true },
    );
    assert.deepEqual(
      {
        sender: third?.senderId,
        receiver: third?.receiverId,
        text: third?.text,
        seen: third?.seen,
      },
      { sender: bob, receiver: alice, text: 'Hello, Alice! ✓ “quotes” \n newline', seen: true },
    );
    assertSentAt(first, pythonSeconds(base + 0.5));
    assertSentAt(second, pythonSeconds(base + 30.1234567));
    const seedTimestamp = await raw.hGet(`message:${fromSeed}`, 'timestamp');
    assert.match(seedTimestamp ?? '', /^\d+\.\d+$/);
    assertSentAt(third, seedTimestamp ?? '');

    const bobs = await messenger.listUserMessages(bob);
    assert.deepEqual(
      bobs.messages.map((m) => [m.id, m.senderId, m.receiverId, m.text]),
      [[toBob, alice, bob, 'Hi Bob']],
    );

    // The original never wrote `seen`: none of its messages counts as unread.
    assert.deepEqual(await messenger.unreadCount(alice), { total: 0, bySender: {} });
    assert.deepEqual(await messenger.unreadCount(bob), { total: 0, bySender: {} });
  });

  it('reads its contact lists', async () => {
    const alice = await seed.createUser('alice');
    const bob = await seed.createUser('Bob');
    const dave = await seed.createUser('dave');
    const zed = await writeSeedUser('Zed');
    await seed.addContact(alice, dave);
    await seed.addContact(alice, bob);
    await raw.sAdd(`user_contacts:${alice}`, zed);

    const contacts = await messenger.listContacts(alice);
    assert.deepEqual(
      contacts.map((c) => [c.id, c.username]),
      [
        [bob, 'Bob'],
        [dave, 'dave'],
        [zed, 'Zed'],
      ],
    );
    assert.deepEqual(await messenger.listContacts(bob), []);
  });

  it('keeps every name it stored taken', async () => {
    const bob = await seed.createUser('Bob');
    const dave = await seed.createUser('dave');
    const schemaOnly = await writeSeedUser('Schema Only');

    for (const name of ['Bob', 'dave', 'Dave', 'DAVE', 'Schema Only']) {
      await assert.rejects(messenger.createUser(name), UsernameTakenError, `accepted ${name}`);
    }
    // Nothing was half-written by the refusals.
    assert.deepEqual(await raw.hGetAll('usernames'), {
      Bob: bob,
      dave,
      'Schema Only': schemaOnly,
    });
    assert.deepEqual(
      sortedIds((await messenger.listAllUsers()).users),
      [bob, dave, schemaOnly].sort(),
    );
  });

  it('finds its users by a case variant of their name, as createUser compares names', async () => {
    // createUser refuses "DAVE" because the original stored "dave"; findUserByUsername's
    // doc says it compares names as createUser does, so it must find "dave" by "DAVE".
    const dave = await seed.createUser('dave');
    await assert.rejects(messenger.createUser('DAVE'), UsernameTakenError);
    assert.equal((await messenger.findUserByUsername('DAVE'))?.id, dave);
    assert.equal((await messenger.findUserByUsername('Dave'))?.id, dave);
  });

  it('finds its users by the start of their name, with no migration step, also those it adds later', async () => {
    const daniel = await seed.createUser('Daniel');
    const dana = await seed.createUser('dana');
    // A name that folds like one the original stored: both users are kept, and found.
    const danaAgain = await writeSeedUser('DANA');
    const dario = await messenger.createUser('Dario');
    const names = async (prefix: string) =>
      (await messenger.searchUsers(prefix)).users.map((u) => [u.username, u.id]);
    // Ordered by the folded name, then by the name as typed.
    assert.deepEqual(await names('DA'), [
      ['DANA', danaAgain],
      ['dana', dana],
      ['Daniel', daniel],
      ['Dario', dario],
    ]);
    // Added by the original after the index caught up: found by the next search.
    const dave = await seed.createUser('dave');
    assert.deepEqual(await names('dav'), [['dave', dave]]);
    assert.equal(await raw.zCard('name_index'), 5);
  });

  it('refuses a case variant of a mixed-case name the original stored, with no migration step', async () => {
    await seed.createUser('Bob');
    await writeSeedUser('Schema Only');
    await assert.rejects(messenger.createUser('bob'), UsernameTakenError);
    await assert.rejects(messenger.createUser('schema only'), UsernameTakenError);
  });
});

describe('data RedisMessenger wrote, read through the original program', () => {
  it('lists exactly the library users with SCAN user:*, all of them hashes', async () => {
    const erin = await messenger.createUser('MiXeD Name');
    const frank = await messenger.createUser('Straße');
    const grace = await messenger.createUser('ＦＵＬＬ width');
    // Every other kind of key the library writes, so that SCAN user:* would meet it.
    await messenger.addContact(erin, frank);
    await messenger.sendMessage(erin, frank, 'one');
    await messenger.sendMessage(frank, grace, 'two');
    const now = Date.now() / 1000;

    const users = await seed.listAllUsers();
    assert.equal(users.length, 3);
    const byId = new Map(users.map((u) => [u.user_id, u]));
    const expected: [string, string][] = [
      [erin, 'MiXeD Name'],
      [frank, 'Straße'],
      [grace, 'ＦＵＬＬ width'],
    ];
    for (const [id, username] of expected) {
      const user = byId.get(id);
      assert.ok(user, `SCAN user:* missed ${username}`);
      assert.deepEqual(Object.keys(user).sort(), ['created_at', 'user_id', 'username']);
      assert.equal(user.username, username);
      assert.match(user.created_at ?? '', /^\d+\.\d+$/);
      assert.ok(Math.abs(Number(user.created_at) - now) < 60, `created_at ${user.created_at}`);
    }

    // The proof that nothing else matches user:*: every such key is a user hash.
    const userKeys = (await raw.keys('user:*')).sort();
    assert.deepEqual(userKeys, [erin, frank, grace].map((id) => `user:${id}`).sort());
    for (const key of userKeys) {
      assert.equal(await raw.type(key), 'hash', key);
      assert.deepEqual((await raw.hKeys(key)).sort(), ['created_at', 'user_id', 'username']);
    }
    // And the library did write keys of other types, whose names avoid the pattern.
    const types = new Set(await Promise.all((await raw.keys('*')).map((key) => raw.type(key))));
    assert.deepEqual([...types].sort(), ['hash', 'set', 'string', 'zset']);
  });

  it('reads the library messages with the seed fields and seen flags', async () => {
    const erin = await messenger.createUser('erin');
    const frank = await messenger.createUser('frank');
    const grace = await messenger.createUser('grace');
    const one = await messenger.sendMessage(erin, frank, 'one');
    const two = await messenger.sendMessage(grace, frank, 'two ✓ “x”\nend');
    const three = await messenger.sendMessage(frank, erin, 'three');
    const now = Date.now() / 1000;

    const inbox = await seed.listUserMessages(frank);
    assert.deepEqual(
      inbox.map((m) => m.message_id),
      [one, two],
    );
    const expected: [string, string, string][] = [
      [one, erin, 'one'],
      [two, grace, 'two ✓ “x”\nend'],
    ];
    let previous = 0;
    for (const [i, [id, sender, text]] of expected.entries()) {
      const message = inbox[i] as SeedHash;
      assert.deepEqual(Object.keys(message).sort(), [
        'message',
        'message_id',
        'receiver_id',
        'seen',
        'sender_id',
        'timestamp',
      ]);
      assert.deepEqual(
        {
          message_id: message.message_id,
          sender_id: message.sender_id,
          receiver_id: message.receiver_id,
          message: message.message,
          seen: message.seen,
        },
        { message_id: id, sender_id: sender, receiver_id: frank, message: text, seen: 'False' },
      );
      const timestamp = message.timestamp ?? '';
      assert.match(timestamp, /^\d+\.\d+$/);
      const seconds = Number(timestamp);
      assert.ok(Math.abs(seconds - now) < 60, `timestamp ${timestamp}`);
      assert.ok(seconds > previous, 'inbox not in timestamp order');
      previous = seconds;
      // The index scores the message by the same timestamp the hash holds.
      assert.equal(await raw.zScore(`user_messages:${frank}`, `message:${id}`), seconds);
    }
    assert.deepEqual(
      (await seed.listUserMessages(erin)).map((m) => [m.message_id, m.sender_id, m.message]),
      [[three, frank, 'three']],
    );

    // Seeing a message is written where the original would look for it.
    assert.equal(await messenger.markSeen(frank, [one]), 1);
    assert.deepEqual(
      (await seed.listUserMessages(frank)).map((m) => [m.message_id, m.seen]),
      [
        [one, 'True'],
        [two, 'False'],
      ],
    );
  });

  it('reads the library contact lists', async () => {
    const erin = await messenger.createUser('erin');
    const frank = await messenger.createUser('frank');
    const grace = await messenger.createUser('grace');
    await messenger.addContact(erin, frank);
    await messenger.addContact(erin, grace);
    const contacts = await seed.listContacts(erin);
    assert.deepEqual(
      contacts.map((c) => [c.user_id, c.username]).sort(),
      [
        [frank, 'frank'],
        [grace, 'grace'],
      ].sort(),
    );
    assert.deepEqual(await seed.listContacts(frank), []);
  });

  it('refuses a name the library created, and the library keeps names as typed', async () => {
    const erin = await messenger.createUser('MiXeD Name');
    const frank = await messenger.createUser('Straße');
    await assert.rejects(seed.createUser('MiXeD Name'), /already exists/);
    await assert.rejects(seed.createUser('Straße'), /already exists/);
    assert.deepEqual(await raw.hGetAll('usernames'), { 'MiXeD Name': erin, Straße: frank });
  });
});

describe('a history written by both programs', () => {
  it('reads one inbox in timestamp order and pages it without a gap or a repeat', async () => {
    const sender = await seed.createUser('seed-sender');
    const other = await messenger.createUser('lib-sender');
    const receiver = await messenger.createUser('receiver');
    const texts = new Map<string, { sender: string; text: string }>();
    const libraryIds: string[] = [];

    // Four messages sharing one timestamp, older than the rest: a tie a page will split.
    const tie = pythonSeconds(Date.now() / 1000 - 10.5);
    for (let i = 0; i < 4; i++) {
      const text = `tie ${i}`;
      texts.set(
        await writeSeedMessage({ senderId: sender, receiverId: receiver, text, timestamp: tie }),
        {
          sender,
          text,
        },
      );
    }
    for (let i = 0; i < 12; i++) {
      const text = `message ${i}`;
      if (i % 2 === 0) {
        texts.set(await seed.sendMessage(sender, receiver, text), { sender, text });
      } else {
        const from = i % 4 === 1 ? sender : other;
        const id = await messenger.sendMessage(from, receiver, text);
        texts.set(id, { sender: from, text });
        libraryIds.push(id);
      }
    }
    // The original's clock may run ahead: what the library sends next still comes last.
    const ahead = await writeSeedMessage({
      senderId: sender,
      receiverId: receiver,
      text: 'from a clock 5 s ahead',
      timestamp: pythonSeconds(Date.now() / 1000 + 5),
    });
    texts.set(ahead, { sender, text: 'from a clock 5 s ahead' });
    const last = await messenger.sendMessage(other, receiver, 'after the clock ahead');
    texts.set(last, { sender: other, text: 'after the clock ahead' });
    libraryIds.push(last);

    const expected = await timestampOrder([...texts.keys()]);
    assert.equal(expected.length, 18);
    assert.equal(expected.at(-1), last);
    assert.equal(expected.at(-2), ahead);

    // One page with everything.
    const whole = await messenger.listUserMessages(receiver);
    assert.deepEqual(
      whole.messages.map((m) => m.id),
      expected,
    );
    for (const message of whole.messages) {
      const sent = texts.get(message.id);
      assert.deepEqual(
        [message.senderId, message.receiverId, message.text],
        [sent?.sender, receiver, sent?.text],
      );
      assert.equal(message.seen, !libraryIds.includes(message.id), message.text);
    }
    // The original's reading of the same inbox agrees.
    assert.deepEqual(
      (await seed.listUserMessages(receiver)).map((m) => m.message_id),
      expected,
    );

    // Backwards from the newest, three at a time.
    const backwards: string[] = [];
    let page = await messenger.listUserMessages(receiver, { limit: 3 });
    assert.equal(page.hasNewer, false);
    for (;;) {
      assert.ok(page.messages.length > 0 && page.messages.length <= 3);
      backwards.unshift(...page.messages.map((m) => m.id));
      if (!page.hasOlder) break;
      page = await messenger.listUserMessages(receiver, { limit: 3, before: page.messages[0]?.id });
      assert.equal(page.hasNewer, true);
    }
    assert.deepEqual(backwards, expected);

    // Forwards from the oldest, four at a time.
    const oldest = expected[0] as string;
    const forwards = [oldest];
    page = await messenger.listUserMessages(receiver, { limit: 4, after: oldest });
    assert.equal(page.hasOlder, true);
    for (;;) {
      assert.ok(page.messages.length > 0 && page.messages.length <= 4);
      forwards.push(...page.messages.map((m) => m.id));
      if (!page.hasNewer) break;
      page = await messenger.listUserMessages(receiver, {
        limit: 4,
        after: page.messages.at(-1)?.id,
      });
      assert.equal(page.hasOlder, true);
    }
    assert.deepEqual(forwards, expected);

    // Only the library's messages are unread; the original's count as seen.
    const fromSender = libraryIds.filter((id) => texts.get(id)?.sender === sender).length;
    const fromOther = libraryIds.filter((id) => texts.get(id)?.sender === other).length;
    assert.ok(fromSender > 0 && fromOther > 0);
    assert.deepEqual(await messenger.unreadCount(receiver), {
      total: libraryIds.length,
      bySender: { [sender]: fromSender, [other]: fromOther },
    });
  });
});
