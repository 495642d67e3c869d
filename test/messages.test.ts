import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Keys } from '../src/core/keys.js';
import {
  BadDataError,
  CursorNotFoundError,
  type Message,
  MessageIdConflictError,
  RateLimitedError,
  type RedisMessenger,
  UserNotFoundError,
  ValidationError,
} from '../src/index.js';
import {
  type Backend,
  type BackendKind,
  commandsDuring,
  onEachBackend,
} from './support/backends.js';
import { startLatencyProxy } from './support/latency-proxy.js';
import { eventually } from './support/wait.js';

let messenger: RedisMessenger;
let alice: string;
let bob: string;

/** Every message of an inbox, by paging forwards with `after` from the oldest. */
async function pageForwards(m: RedisMessenger, user: string, limit: number): Promise<Message[]> {
  const all: Message[] = [];
  let page = await m.listUserMessages(user, { limit });
  // Walk back to the start first, then forwards.
  while (page.hasOlder)
    page = await m.listUserMessages(user, { limit, before: page.messages[0]?.id });
  all.push(...page.messages);
  while (page.hasNewer) {
    page = await m.listUserMessages(user, { limit, after: all.at(-1)?.id });
    all.push(...page.messages);
  }
  return all;
}

// A cluster of one shard too: there a send is one script (send-on-one-node-2.lua), and
// every test of what a send does must hold for it as for the steps.
onEachBackend(messageTests, { clusterOfOneShard: true });

function messageTests(backend: () => Backend, kind: BackendKind): void {
  before(async () => {
    messenger = await backend().messenger();
    alice = await messenger.createUser('alice');
    bob = await messenger.createUser('bob');
  });
  after(async () => {
    await messenger?.close();
  });

  /** A fresh pair of users in a fresh namespace, for tests that count things. */
  async function pair(): Promise<{ m: RedisMessenger; a: string; b: string }> {
    const m = await backend().messenger();
    return { m, a: await m.createUser('a'), b: await m.createUser('b') };
  }

  describe('sendMessage', () => {
    it('stores the message in the receiver inbox, unseen, with its sender', async () => {
      const id = await messenger.sendMessage(alice, bob, 'Hello, Bob!');
      const { messages } = await messenger.listUserMessages(bob);
      const message = messages.find((m) => m.id === id);
      assert.ok(message);
      assert.equal(message.senderId, alice);
      assert.equal(message.receiverId, bob);
      assert.equal(message.text, 'Hello, Bob!');
      assert.equal(message.seen, false);
      assert.ok(Math.abs(message.sentAt.getTime() - Date.now()) < 60_000);
    });

    it('with a limit, takes a token from the sender’s bucket in the same step; past it, stores nothing', async () => {
      const { m, a, b } = await pair();
      try {
        const limit = { burst: 2, perSecond: 0.5 };
        await m.send(a, b, 'one', { limit });
        await m.send(a, b, 'two', { limit });
        const refusedId = randomUUID();
        const refused = await m.send(a, b, 'three', { limit, messageId: refusedId }).then(
          () => assert.fail('a third send at once'),
          (error: unknown) => error,
        );
        assert.ok(refused instanceof RateLimitedError, String(refused));
        assert.ok(
          refused.retryAfterMs > 0 && refused.retryAfterMs <= 2000,
          `${refused.retryAfterMs}`,
        );
        assert.deepEqual(await backend().keys(`*${refusedId}*`), [], 'nothing stored');
        assert.equal((await m.listUserMessages(b)).messages.length, 2);
        // The bucket is the rate limits' `send` rule of the sender: shared with take().
        assert.ok((await m.rateLimits.take('send', { userId: a }, limit)) > 0);
        assert.equal(await m.rateLimits.take('send', { userId: b }, limit), 0, 'b has their own');
        await m.send(a, b, 'no limit', {});
        await assert.rejects(
          m.send(a, b, 'x', { limit: { burst: 1, perSecond: Number.POSITIVE_INFINITY } }),
          ValidationError,
          'a bucket refilled at once is a mistake, not a limit',
        );
      } finally {
        await m.close();
      }
    });

    it('a send past its bucket writes nothing and costs one step: its token is taken before the message is stored', async () => {
      const { m, a, b } = await pair();
      try {
        const limit = { burst: 1, perSecond: 0.001 };
        await m.send(a, b, 'the last token', { limit });
        const used = await commandsDuring(backend(), () =>
          assert.rejects(m.send(a, b, 'refused', { limit }), RateLimitedError),
        );
        // On a cluster the token was once taken beside storing the hash, which a refusal
        // then took back: a request past its bucket wrote a message and deleted it (and
        // a concurrent retry of the same id could lose the one it delivered).
        // One request, which wrote nothing (on a cluster of one shard the send's one script
        // reads every key's TYPE first: reads).
        assert.equal(used.evalsha, 1, JSON.stringify(used));
        for (const write of ['hset', 'del', 'zadd'])
          assert.equal(used[write] ?? 0, 0, `${write}: ${JSON.stringify(used)}`);
      } finally {
        await m.close();
      }
    });

    it('round-trips unicode byte-exact: emoji, right-to-left, newlines, NUL', async () => {
      const texts = [
        '👩‍👩‍👧‍👦 family 🇺🇦',
        'مرحبا بالعالم',
        'שלום\nעולם',
        'line one\r\nline two\n\n\tindented',
        'nul\u0000inside',
        'e\u0301 vs \u00e9',
        '"quotes" \\ backslash {json: true}',
      ];
      for (const text of texts) {
        const id = await messenger.sendMessage(alice, bob, text);
        const { messages } = await messenger.listUserMessages(bob, { limit: 1 });
        assert.equal(messages[0]?.id, id);
        assert.equal(messages[0]?.text, text);
      }
    });

    it('accepts up to maxTextLength characters, counted as code points', async () => {
      const { m, a, b } = await pair();
      try {
        await m.sendMessage(a, b, '😀'.repeat(4096));
        await assert.rejects(m.sendMessage(a, b, 'x'.repeat(4097)), ValidationError);
      } finally {
        await m.close();
      }
      const small = await backend().messenger({ maxTextLength: 10 });
      try {
        const [a, b] = [await small.createUser('a'), await small.createUser('b')];
        await small.sendMessage(a, b, '0123456789');
        await assert.rejects(small.sendMessage(a, b, '0123456789!'), ValidationError);
      } finally {
        await small.close();
      }
    });

    it('refuses empty, blank, non-string and broken-unicode texts', async () => {
      for (const text of ['', '   ', '\n\t', '\uDC00', 7, undefined]) {
        await assert.rejects(messenger.sendMessage(alice, bob, text as string), ValidationError);
      }
    });

    it('refuses unknown users, malformed ids and messages to oneself', async () => {
      const ghost = randomUUID();
      await assert.rejects(
        messenger.sendMessage(ghost, bob, 'hi'),
        (e) => e instanceof UserNotFoundError && e.userId === ghost,
      );
      await assert.rejects(
        messenger.sendMessage(alice, ghost, 'hi'),
        (e) => e instanceof UserNotFoundError && e.userId === ghost,
      );
      await assert.rejects(messenger.sendMessage('alice', bob, 'hi'), ValidationError);
      await assert.rejects(messenger.sendMessage(alice, `${bob}*`, 'hi'), ValidationError);
      await assert.rejects(messenger.sendMessage(alice, alice, 'hi'), ValidationError);
      await assert.rejects(
        messenger.sendMessage(alice, bob, 'hi', { messageId: 'nope' }),
        ValidationError,
      );
    });

    it('stores nothing at all when it refuses', async () => {
      const namespace = `refuse-${Date.now()}`;
      const { RedisMessenger } = await import('../src/index.js');
      const m = await RedisMessenger.connect({ ...backend().target, namespace });
      try {
        const a = await m.createUser('a');
        const before = (await backend().keys(`${namespace}:*`)).sort();
        await assert.rejects(m.sendMessage(a, randomUUID(), 'hi'), UserNotFoundError);
        await assert.rejects(m.sendMessage(randomUUID(), a, 'hi'), UserNotFoundError);
        assert.deepEqual((await backend().keys(`${namespace}:*`)).sort(), before);
      } finally {
        await m.close();
      }
    });

    it('stores a message once however often it is sent with the same id', async () => {
      const { m, a, b } = await pair();
      try {
        const messageId = randomUUID();
        const results = await Promise.all(
          Array.from({ length: 50 }, () => m.sendMessage(a, b, 'only once', { messageId })),
        );
        assert.ok(results.every((id) => id === messageId));
        await m.sendMessage(a, b, 'only once', { messageId });
        const { messages } = await m.listUserMessages(b);
        assert.deepEqual(
          messages.map((x) => x.id),
          [messageId],
        );
        assert.equal((await m.unreadCount(b)).total, 1);
        assert.equal((await m.listConversation(a, b)).messages.length, 1);
      } finally {
        await m.close();
      }
    });

    it('refuses a message id already used for a different message', async () => {
      const { m, a, b } = await pair();
      try {
        const messageId = randomUUID();
        await m.sendMessage(a, b, 'first', { messageId });
        await assert.rejects(
          m.sendMessage(a, b, 'different', { messageId }),
          MessageIdConflictError,
        );
        await assert.rejects(m.sendMessage(b, a, 'first', { messageId }), MessageIdConflictError);
      } finally {
        await m.close();
      }
    });
  });

  describe('listUserMessages', () => {
    it('pages over 10,000 messages, many in the same millisecond, with no gap or repeat', async () => {
      const { m, a, b } = await pair();
      try {
        const sent: string[] = [];
        // 64 in flight at a time: many land in the same millisecond.
        for (let i = 0; i < 10_000; i += 100) {
          const batch = Array.from({ length: 100 }, (_, j) => `m${i + j}`);
          // Ids are chosen up front so the expected order is the order of the calls.
          const ids = batch.map(() => randomUUID());
          await Promise.all(
            batch.map((text, j) => m.sendMessage(a, b, text, { messageId: ids[j] })),
          );
          sent.push(...ids);
        }
        const forwards = await pageForwards(m, b, 137);
        assert.equal(forwards.length, 10_000);
        assert.equal(new Set(forwards.map((x) => x.id)).size, 10_000);
        if (kind === 'standalone') {
          // node-redis writes commands in call order on one connection: the send order.
          assert.deepEqual(
            forwards.map((x) => x.id),
            sent,
          );
          assert.deepEqual(
            forwards.map((x) => x.text),
            sent.map((_, i) => `m${i}`),
          );
        } else {
          // On a cluster a send is several steps on several nodes: sends made at the same
          // time reach the inbox in no set order, each batch after the one before it.
          for (let i = 0; i < 10_000; i += 100) {
            assert.deepEqual(
              forwards
                .slice(i, i + 100)
                .map((x) => x.id)
                .sort(),
              sent.slice(i, i + 100).sort(),
            );
          }
        }
        const times = forwards.map((x) => x.sentAt.getTime());
        assert.ok(times.every((t, i) => i === 0 || t >= (times[i - 1] ?? 0)));
        const sameMillisecond = times.filter((t, i) => i > 0 && t === times[i - 1]).length;
        assert.ok(sameMillisecond > 100, `only ${sameMillisecond} messages shared a millisecond`);

        // Backwards from the newest gives the same messages.
        const backwards: Message[] = [];
        let page = await m.listUserMessages(b, { limit: 1000 });
        backwards.unshift(...page.messages);
        while (page.hasOlder) {
          page = await m.listUserMessages(b, { limit: 1000, before: backwards[0]?.id });
          backwards.unshift(...page.messages);
        }
        assert.deepEqual(
          backwards.map((x) => x.id),
          forwards.map((x) => x.id),
        );
      } finally {
        await m.close();
      }
    });

    it('gives the newest page by default, oldest first, with hasOlder/hasNewer', async () => {
      const { m, a, b } = await pair();
      try {
        const ids = [];
        for (let i = 0; i < 5; i++) ids.push(await m.sendMessage(a, b, `n${i}`));
        const latest = await m.listUserMessages(b, { limit: 2 });
        assert.deepEqual(
          latest.messages.map((x) => x.text),
          ['n3', 'n4'],
        );
        assert.equal(latest.hasOlder, true);
        assert.equal(latest.hasNewer, false);
        const older = await m.listUserMessages(b, { limit: 2, before: ids[3] });
        assert.deepEqual(
          older.messages.map((x) => x.text),
          ['n1', 'n2'],
        );
        assert.equal(older.hasNewer, true);
        const first = await m.listUserMessages(b, { limit: 10, before: ids[0] });
        assert.deepEqual(first, { messages: [], hasOlder: false, hasNewer: true });
        const end = await m.listUserMessages(b, { after: ids[4] });
        assert.deepEqual(end, { messages: [], hasOlder: true, hasNewer: false });
        const empty = await m.listUserMessages(a);
        assert.deepEqual(empty, { messages: [], hasOlder: false, hasNewer: false });
      } finally {
        await m.close();
      }
    });

    it('refuses bad paging and unknown users', async () => {
      await assert.rejects(messenger.listUserMessages(randomUUID()), UserNotFoundError);
      await assert.rejects(
        messenger.listUserMessages(bob, { after: randomUUID() }),
        CursorNotFoundError,
      );
      await assert.rejects(messenger.listUserMessages(bob, { after: 'x' }), ValidationError);
      await assert.rejects(
        messenger.listUserMessages(bob, { before: randomUUID(), after: randomUUID() }),
        ValidationError,
      );
      await assert.rejects(messenger.listUserMessages(bob, { limit: 0 }), ValidationError);
      await assert.rejects(
        messenger.listUserMessages(bob, { limit: '5' as unknown as number }),
        ValidationError,
      );
    });

    it('reads a page in a constant number of round trips (no N+1)', {
      skip: kind === 'cluster' && 'the latency proxy stands in front of one server',
    }, async () => {
      // Through a proxy that delays each direction by 25 ms, every round trip costs 50 ms.
      const target = backend().target;
      const url = 'url' in target ? target.url : '';
      const proxy = await startLatencyProxy(Number(new URL(url).port), 25);
      const namespace = `round-trips-${randomUUID()}`;
      const { RedisMessenger } = await import('../src/index.js');
      const direct = await RedisMessenger.connect({ url, namespace });
      const slow = await RedisMessenger.connect({ url: proxy.url, namespace });
      try {
        const [a, b] = [await direct.createUser('a'), await direct.createUser('b')];
        for (let i = 0; i < 40; i++) await direct.sendMessage(a, b, `x${i}`);
        const roundTrips = async (limit: number) => {
          const start = Date.now();
          const page = await slow.listUserMessages(b, { limit });
          assert.equal(page.messages.length, limit);
          return (Date.now() - start) / 50;
        };
        const small = await roundTrips(5);
        const large = await roundTrips(40);
        // Two: the index (with the user check), then every message hash at once.
        assert.ok(small < 3, `a page of 5 took ${small.toFixed(1)} round trips`);
        assert.ok(large < 3, `a page of 40 took ${large.toFixed(1)} round trips`);
      } finally {
        await slow.close();
        await direct.close();
        await proxy.close();
      }
    });
  });

  describe('conversations', () => {
    it('lists both directions in order, and the conversation list by recency', async () => {
      const m = await backend().messenger();
      try {
        const [a, b, c] = [
          await m.createUser('a'),
          await m.createUser('b'),
          await m.createUser('c'),
        ];
        await m.sendMessage(a, b, 'a→b 1');
        await m.sendMessage(b, a, 'b→a 1');
        await m.sendMessage(a, c, 'a→c 1');
        await m.sendMessage(a, b, 'a→b 2');
        const conversation = await m.listConversation(a, b);
        assert.deepEqual(
          conversation.messages.map((x) => x.text),
          ['a→b 1', 'b→a 1', 'a→b 2'],
        );
        assert.deepEqual(
          (await m.listConversation(b, a)).messages.map((x) => x.id),
          conversation.messages.map((x) => x.id),
        );
        const list = await m.listConversations(a);
        assert.deepEqual(
          list.map((x) => [x.with.username, x.lastMessage?.text, x.unread]),
          [
            ['b', 'a→b 2', 1],
            ['c', 'a→c 1', 0],
          ],
        );
        const forB = await m.listConversations(b);
        assert.deepEqual(
          forB.map((x) => [x.with.username, x.lastMessage?.text, x.unread]),
          [['a', 'a→b 2', 2]],
        );
        assert.deepEqual(await m.listConversations(c, { limit: 1 }).then((l) => l.length), 1);
        // `limit` is kept: a has two conversations, and asks for the most recent one only.
        assert.deepEqual(
          (await m.listConversations(a, { limit: 1 })).map((x) => x.with.username),
          ['b'],
        );
        await assert.rejects(m.listConversation(a, randomUUID()), UserNotFoundError);
        await assert.rejects(m.listConversations(randomUUID()), UserNotFoundError);
      } finally {
        await m.close();
      }
    });
  });

  describe('paging a conversation forwards while both people write', () => {
    it('misses nothing and repeats nothing', async () => {
      const { m, a, b } = await pair();
      try {
        const sent = new Set<string>();
        let writing = true;
        const writers = [
          [a, b],
          [b, a],
        ].flatMap(([from, to]) =>
          Array.from({ length: 4 }, async () => {
            for (let i = 0; writing; i++) {
              sent.add(await m.sendMessage(from as string, to as string, `${i}`));
            }
          }),
        );
        const read: string[] = [];
        let cursor: string | undefined;
        const readOn = async () => {
          const page = await m.listConversation(a, b, cursor ? { after: cursor } : {});
          read.push(...page.messages.map((x) => x.id));
          cursor = read.at(-1) ?? cursor;
        };
        const started = Date.now();
        while (Date.now() - started < 3000) await readOn();
        writing = false;
        await Promise.all(writers);
        for (let round = 0; round < 1000; round++) {
          const before = read.length;
          await readOn();
          if (read.length === before) break;
        }
        const missed = [...sent].filter((id) => !read.includes(id));
        assert.ok(sent.size > 100, `only ${sent.size} messages were sent`);
        assert.deepEqual(missed, [], `missed ${missed.length} of ${sent.size}`);
        assert.equal(new Set(read).size, read.length, 'read twice');
      } finally {
        await m.close();
      }
    });
  });

  describe('seen and unread', () => {
    it('counts unread per sender and marks messages seen', async () => {
      const m = await backend().messenger();
      try {
        const [a, b, c] = [
          await m.createUser('a'),
          await m.createUser('b'),
          await m.createUser('c'),
        ];
        const fromA = [
          await m.sendMessage(a, c, '1'),
          await m.sendMessage(a, c, '2'),
          await m.sendMessage(a, c, '3'),
        ];
        const fromB = await m.sendMessage(b, c, '4');
        await m.sendMessage(c, a, 'reply');
        assert.deepEqual(await m.unreadCount(c), { total: 4, bySender: { [a]: 3, [b]: 1 } });

        assert.equal(await m.markSeen(c, [fromA[0] as string, fromA[0] as string]), 1);
        assert.equal(await m.markSeen(c, [fromA[0] as string]), 0, 'marked twice');
        // A message the user did not receive is left alone.
        assert.equal(await m.markSeen(b, [fromA[1] as string]), 0);
        assert.deepEqual(await m.unreadCount(c), { total: 3, bySender: { [a]: 2, [b]: 1 } });

        assert.equal(await m.markConversationSeen(c, a), 2);
        assert.deepEqual(await m.unreadCount(c), { total: 1, bySender: { [b]: 1 } });
        assert.equal(await m.markSeen(c, [fromB]), 1);
        assert.deepEqual(await m.unreadCount(c), { total: 0, bySender: {} });
        const inbox = await m.listUserMessages(c);
        assert.ok(inbox.messages.every((x) => x.seen));
        // The reply c sent is still unseen by a.
        assert.deepEqual(await m.unreadCount(a), { total: 1, bySender: { [c]: 1 } });
        assert.equal(await m.markSeen(c, []), 0);
        await assert.rejects(m.markSeen(c, ['bad']), ValidationError);
        await assert.rejects(
          m.markSeen(
            c,
            Array.from({ length: 1001 }, () => fromB),
          ),
          ValidationError,
        );
        await assert.rejects(m.unreadCount(randomUUID()), UserNotFoundError);
        await assert.rejects(m.markConversationSeen(c, randomUUID()), UserNotFoundError);
      } finally {
        await m.close();
      }
    });

    it('markConversationSeen finds unseen messages deep in a long conversation', async () => {
      const { m, a, b } = await pair();
      try {
        const old = await m.sendMessage(a, b, 'old and unseen');
        const later = [];
        for (let i = 0; i < 250; i++) later.push(await m.sendMessage(a, b, `later ${i}`));
        await m.markSeen(b, later);
        assert.equal((await m.unreadCount(b)).total, 1);
        assert.equal(await m.markConversationSeen(b, a), 1);
        const page = await m.listUserMessages(b, { limit: 1, before: later[0] });
        assert.equal(page.messages[0]?.id, old);
        assert.equal(page.messages[0]?.seen, true);
        assert.equal((await m.unreadCount(b)).total, 0);
      } finally {
        await m.close();
      }
    });
  });

  describe('contacts', () => {
    it('adds, lists (by name) and removes contacts', async () => {
      const m = await backend().messenger();
      try {
        const [a, b, c] = [
          await m.createUser('ann'),
          await m.createUser('zed'),
          await m.createUser('bea'),
        ];
        assert.equal(await m.addContact(a, b), true);
        assert.equal(await m.addContact(a, c), true);
        assert.equal(await m.addContact(a, b), false);
        assert.deepEqual(
          (await m.listContacts(a)).map((u) => u.username),
          ['bea', 'zed'],
        );
        assert.deepEqual(await m.listContacts(b), []);
        assert.equal(await m.removeContact(a, b), true);
        assert.equal(await m.removeContact(a, b), false);
        assert.deepEqual(
          (await m.listContacts(a)).map((u) => u.username),
          ['bea'],
        );
        const ghost = randomUUID();
        await assert.rejects(
          m.addContact(a, ghost),
          (e) => e instanceof UserNotFoundError && e.userId === ghost,
        );
        await assert.rejects(
          m.addContact(ghost, a),
          (e) => e instanceof UserNotFoundError && e.userId === ghost,
        );
        await assert.rejects(m.addContact(a, a), ValidationError);
        await assert.rejects(m.listContacts(ghost), UserNotFoundError);
        await assert.rejects(m.removeContact(ghost, a), UserNotFoundError);
      } finally {
        await m.close();
      }
    });
  });

  describe('bad data in Redis (written or removed by something else)', () => {
    /** A messenger in a namespace whose key names the test knows, and two users. */
    async function open() {
      const namespace = `bad-${randomUUID()}`;
      const { RedisMessenger } = await import('../src/index.js');
      const m = await RedisMessenger.connect({ ...backend().target, namespace });
      const keys = new Keys(namespace, kind);
      return { m, keys, namespace, a: await m.createUser('a'), b: await m.createUser('b') };
    }

    it('pages skip entries whose hashes were deleted, count them, and give cursors past them', async () => {
      const { m, keys, a, b } = await open();
      try {
        const first = await m.sendMessage(a, b, 'first');
        const gone: string[] = [];
        for (let i = 0; i < 230; i++) gone.push(await m.sendMessage(a, b, `gone ${i}`));
        const last = await m.sendMessage(a, b, 'last');
        const received: string[] = [];
        const subscription = await m.subscribe(b, (message) => void received.push(message.text), {
          after: first,
        });
        await eventually(() => received.length === 231, 10_000, 'the subscriber catching up');
        await subscription.close();
        // A retention job deletes the hashes; the inbox entries stay.
        await Promise.all(gone.map((id) => backend().raw.del(keys.message(id, b))));

        const after = await m.listUserMessages(b, { after: first, limit: 50 });
        assert.deepEqual(after.messages, []);
        assert.equal(after.hasNewer, true);
        assert.deepEqual(after.skipped, { count: 50, before: gone[0], after: gone[49] });
        const older = await m.listUserMessages(b, { before: last, limit: 20 });
        assert.deepEqual(older.messages, []);
        assert.equal(older.hasOlder, true);
        assert.equal(older.skipped?.before, gone[210]);
        // Paging on with the cursors reaches the messages past the gap.
        const texts: string[] = [];
        let page = after;
        for (let round = 0; round < 20 && page.hasNewer; round++) {
          const cursor = page.skipped?.after ?? page.messages.at(-1)?.id;
          page = await m.listUserMessages(b, { after: cursor, limit: 50 });
          texts.push(...page.messages.map((message) => message.text));
        }
        assert.deepEqual(texts, ['last']);
        assert.deepEqual(
          (await m.listUnreadMessages(b)).map((message) => message.text),
          ['first', 'last'],
        );
        // A subscriber whose cursor is before the gap delivers what comes after it.
        const late: string[] = [];
        const behind = await m.subscribe(b, (message) => void late.push(message.text), {
          after: first,
        });
        try {
          await eventually(() => late.length === 1, 10_000, 'the message past the gap');
          await m.sendMessage(a, b, 'live');
          await eventually(() => late.length === 2, 10_000, 'the live message');
          assert.deepEqual(late, ['last', 'live']);
        } finally {
          await behind.close();
        }
      } finally {
        await m.close();
      }
    });

    it('a message key of the wrong type is skipped by reads and marks, not an error', async () => {
      const { m, keys, a, b } = await open();
      try {
        const ids = [
          await m.sendMessage(a, b, '1'),
          await m.sendMessage(a, b, '2'),
          await m.sendMessage(a, b, '3'),
        ];
        const broken = ids[1] as string;
        await backend().raw.del(keys.message(broken, b));
        await backend().raw.set(keys.message(broken, b), 'not a hash');
        const page = await m.listUserMessages(b);
        assert.deepEqual(
          page.messages.map((message) => message.text),
          ['1', '3'],
        );
        assert.equal(page.skipped?.count, 1);
        assert.deepEqual(
          (await m.listConversation(a, b)).messages.map((message) => message.text),
          ['1', '3'],
        );
        assert.deepEqual(
          (await m.listUnreadMessages(b)).map((message) => message.text),
          ['1', '3'],
        );
        assert.equal(await m.markSeen(b, [ids[0] as string, broken]), 1);
        assert.equal(await m.markConversationSeen(b, a), 1);
        assert.deepEqual(
          (await m.listUserMessages(b)).messages.map((message) => message.seen),
          [true, true],
        );
        await m.reindex();
        assert.deepEqual(await m.unreadCount(b), { total: 0, bySender: {} });
      } finally {
        await m.close();
      }
    });

    it('a send refuses before writing anything when a key it writes has the wrong type', async () => {
      const { m, keys, namespace, a, b } = await open();
      try {
        await m.sendMessage(a, b, 'before');
        // (On a cluster, each user's copy of the conversation; on one Redis, one key.)
        const id = randomUUID();
        // Every key a send writes or reads before writing, the hash of the message too
        // (and on a cluster the hash a message to the sender with its id would have).
        for (const key of [
          ...[keys.unread(b), keys.conversations(a), keys.conversations(b), keys.inbox(b)],
          ...[keys.conversation(a, b), keys.conversation(b, a), keys.message(id, b)],
          ...(kind === 'cluster' ? [keys.unseen(b, a), keys.message(id, a)] : []),
        ]) {
          // Put aside (in the same slot) while another type stands in its place.
          const aside = `${key}:aside`;
          const existed = (await backend().raw.exists(key)) === 1;
          if (existed) await backend().raw.rename(key, aside);
          await backend().raw.set(key, 'not what it should be');
          const stored = (await backend().keys(`${namespace}:*`)).sort();
          await assert.rejects(
            m.sendMessage(a, b, 'refused', { messageId: id }),
            (error) => error instanceof BadDataError && error.key === key,
          );
          assert.deepEqual((await backend().keys(`${namespace}:*`)).sort(), stored, key);
          await backend().raw.del(key);
          if (existed) await backend().raw.rename(aside, key);
          assert.equal((await m.listUserMessages(b)).messages.length, 1, key);
        }
        // A counter that is not a number: HINCRBY would fail after the other writes.
        await backend().raw.hSet(keys.unread(b), a, 'many');
        const stored = (await backend().keys(`${namespace}:*`)).sort();
        await assert.rejects(
          m.sendMessage(a, b, 'refused'),
          (error) =>
            error instanceof BadDataError &&
            error.key === keys.unread(b) &&
            /not a whole number; nothing was stored/.test(error.message),
        );
        assert.deepEqual((await backend().keys(`${namespace}:*`)).sort(), stored);
        await backend().raw.del(keys.unread(b));
        await m.sendMessage(a, b, 'after');
        assert.deepEqual(
          (await m.listUserMessages(b)).messages.map((message) => message.text),
          ['before', 'after'],
        );
      } finally {
        await m.close();
      }
    });

    it('says what is wrong: a username entry that is no user id, an unread counter that is no number', async () => {
      const { m, keys, a, b } = await open();
      try {
        await backend().raw.hSet(keys.usernames, 'mallory', 'not-a-uuid');
        await assert.rejects(
          m.findUserByUsername('mallory'),
          (error) =>
            error instanceof BadDataError &&
            error.key === keys.usernames &&
            /not a user id/.test(error.message),
        );
        await m.sendMessage(a, b, 'one');
        await backend().raw.hSet(keys.unread(b), a, 'lots');
        // No raw Lua error: the counter is walked past, and repaired.
        assert.equal(await m.markConversationSeen(b, a), 1);
        assert.deepEqual(await m.unreadCount(b), { total: 0, bySender: {} });
        // The same over more than one step of the walk (1,000 entries on one Redis).
        for (let i = 0; i < 1100; i += 100) {
          await Promise.all(Array.from({ length: 100 }, (_, j) => m.sendMessage(a, b, `${i + j}`)));
        }
        await backend().raw.hSet(keys.unread(b), a, 'lots');
        assert.equal(await m.markConversationSeen(b, a), 1100);
        assert.deepEqual(await m.unreadCount(b), { total: 0, bySender: {} });
        await m.sendMessage(a, b, 'counted again');
        assert.deepEqual(await m.unreadCount(b), { total: 1, bySender: { [a]: 1 } });
      } finally {
        await m.close();
      }
    });
  });
}
