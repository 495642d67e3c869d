/**
 * Regression tests for failures found in review: each of these hung, lost, duplicated or
 * crashed before its fix.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createClient, type RedisClientType } from 'redis';
import { Keys } from '../src/core/keys.js';
import {
  type Message,
  RedisMessenger,
  RedisUnavailableError,
  UsernameTakenError,
} from '../src/index.js';
import { onEachBackend } from './support/backends.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { eventually, within } from './support/wait.js';

describe('connecting and closing never hang', () => {
  let silent: Server;
  let port: number;
  before(async () => {
    // Accepts connections and never answers: a paused Redis, or something else on the port.
    silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });
  after(async () => {
    silent.close();
  });

  it('connect rejects within connectTimeoutMs when the server never answers', async () => {
    const start = Date.now();
    await assert.rejects(
      within(
        3000,
        RedisMessenger.connect({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 500 }),
        'connect',
      ),
      RedisUnavailableError,
    );
    assert.ok(Date.now() - start < 1500, `took ${Date.now() - start} ms`);
  });
});

describe('when Redis goes away', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
  });
  after(async () => {
    await server?.stop();
  });

  it('a send reported as failed is not stored later, when Redis comes back', async () => {
    const m = await RedisMessenger.connect({
      url: server.url,
      namespace: 'ghost',
      commandTimeoutMs: 300,
    });
    try {
      const [a, b] = [await m.createUser('a'), await m.createUser('b')];
      server.signal('SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      await assert.rejects(m.sendMessage(a, b, 'I was told this failed'));
      await server.restart();
      let page: Awaited<ReturnType<RedisMessenger['listUserMessages']>> | undefined;
      for (let i = 0; i < 50 && !page; i++) {
        page = await m.listUserMessages(b).catch(() => undefined);
        if (!page) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(page, 'never reconnected');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual((await m.listUserMessages(b)).messages, []);
    } finally {
      await m.close();
    }
  });

  it('close() returns promptly after a command was issued during the outage', async () => {
    const m = await RedisMessenger.connect({
      url: server.url,
      namespace: 'closing',
      commandTimeoutMs: 300,
    });
    const a = await m.createUser('a');
    server.signal('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    await assert.rejects(m.getUser(a));
    await within(3000, m.close(), 'close');
    await server.restart();
  });
});

onEachBackend((backend, kind) =>
  describe('live delivery', () => {
    async function setUp(namespace: string) {
      const m = await RedisMessenger.connect({ ...backend().target, namespace });
      const keys = new Keys(namespace, kind);
      return { m, keys, a: await m.createUser('a'), b: await m.createUser('b') };
    }

    it('survives malformed doorbells and an onError that throws', async () => {
      const { m, keys, a, b } = await setUp(`bell-${randomUUID()}`);
      try {
        const received: string[] = [];
        await m.subscribe(b, (message) => void received.push(message.text), {
          onError: () => {
            throw new Error('the caller’s error handler fails too');
          },
        });
        await m.sendMessage(a, b, 'one');
        await eventually(() => received.length === 1);
        const raw = backend().raw;
        const channel = keys.inboxChannel(b);
        for (const junk of ['null', '42', '"text"', '{"id": 1}', 'not json', '[]']) {
          const listeners = await (kind === 'cluster'
            ? raw.sPublish(channel, junk)
            : raw.publish(channel, junk));
          assert.equal(listeners, 1, 'the subscription listens on the channel');
        }
        await m.sendMessage(a, b, 'two');
        await eventually(() => received.length === 2, 5000, 'the message after the junk');
        assert.deepEqual(received, ['one', 'two']);
      } finally {
        await m.close();
      }
    });

    it('goes on from the timestamp when its cursor message is gone', async () => {
      const namespace = `lost-${randomUUID()}`;
      const { m, keys, a, b } = await setUp(namespace);
      try {
        const received: string[] = [];
        await m.subscribe(b, (message) => void received.push(message.text));
        const first = await m.sendMessage(a, b, 'before the loss');
        await eventually(() => received.length === 1);
        // Redis lost the newest entry (a restart without persistence, a failover).
        await backend().raw.zRem(keys.inbox(b), `message:${first}`);
        await m.sendMessage(a, b, 'after the loss 1');
        await m.sendMessage(a, b, 'after the loss 2');
        await eventually(() => received.length === 3, 5000, 'messages after the loss');
        assert.deepEqual(received, ['before the loss', 'after the loss 1', 'after the loss 2']);
      } finally {
        await m.close();
      }
    });

    it('a handler may close its own subscription, or the messenger', async () => {
      const { m, a, b } = await setUp(`self-close-${randomUUID()}`);
      try {
        let closed = false;
        const subscription = await m.subscribe(b, async () => {
          await subscription.close();
          closed = true;
        });
        await m.sendMessage(a, b, 'close yourself');
        await eventually(() => closed, 3000, 'close() inside the handler to return');
      } finally {
        await within(3000, m.close(), 'messenger close');
      }
    });

    it('close() while a subscription is starting leaves no subscription behind', async () => {
      const { m, b } = await setUp(`racing-close-${randomUUID()}`);
      const starting = m.subscribe(b, () => {});
      await m.close();
      await assert.rejects(starting);
      await new Promise((r) => setTimeout(r, 100));
      const subscribers = (await backend().eachMaster((node) => node.clientList()))
        .flat()
        .filter((c) => Number(c.sub) > 0 || Number(c.ssub) > 0);
      assert.equal(subscribers.length, 0);
    });
  }),
);

describe('data from other programs', () => {
  let server: RedisServer;
  let raw: RedisClientType;
  before(async () => {
    server = await startRedisServer();
    raw = createClient({ url: server.url });
    await raw.connect();
  });
  after(async () => {
    await raw?.close();
    await server?.stop();
  });

  it('60,000 names written by the original program: createUser and lookups still work', async () => {
    await raw.flushAll();
    const ids: string[] = [];
    for (let i = 0; i < 60_000; i += 1000) {
      const batch = Array.from(
        { length: 1000 },
        (_, j) => [`Legacy${i + j}`, randomUUID()] as const,
      );
      ids.push(...batch.map(([, id]) => id));
      await raw.hSet('usernames', Object.fromEntries(batch));
    }
    const m = await RedisMessenger.connect({ url: server.url });
    try {
      const results = await Promise.allSettled([
        m.createUser('LEGACY42'),
        m.createUser('legacy43'),
        m.createUser('brand new'),
      ]);
      assert.ok(
        results[0]?.status === 'rejected' && results[0].reason instanceof UsernameTakenError,
      );
      assert.ok(
        results[1]?.status === 'rejected' && results[1].reason instanceof UsernameTakenError,
      );
      assert.equal(results[2]?.status, 'fulfilled');
      assert.equal(await raw.hLen('usernames_folded'), 60_001);
      assert.equal(await raw.zCard('user_index'), 60_001);
    } finally {
      await m.close();
    }
  });

  it('reindex recounts unread from seen flags other programs wrote', async () => {
    await raw.flushAll();
    const m = await RedisMessenger.connect({ url: server.url });
    try {
      const [a, b] = [await m.createUser('a'), await m.createUser('b')];
      await m.sendMessage(a, b, 'counted');
      const id = randomUUID();
      await raw.hSet(`message:${id}`, {
        message_id: id,
        sender_id: a,
        receiver_id: b,
        message: 'written by another program, unseen',
        timestamp: '1700000000.5',
        seen: 'False',
      });
      await raw.zAdd(`user_messages:${b}`, { score: 1700000000.5, value: `message:${id}` });
      assert.equal((await m.unreadCount(b)).total, 1);
      await m.reindex();
      assert.deepEqual(await m.unreadCount(b), { total: 2, bySender: { [a]: 2 } });
      assert.equal(await m.markConversationSeen(b, a), 2);
      assert.equal((await m.unreadCount(b)).total, 0);
      assert.ok((await m.listUserMessages(b)).messages.every((x: Message) => x.seen));
    } finally {
      await m.close();
    }
  });

  it('listConversations keeps each person with their own last message when a partner has no user record', async () => {
    await raw.flushAll();
    const m = await RedisMessenger.connect({ url: server.url });
    try {
      const [ann, ben] = [await m.createUser('ann'), await m.createUser('ben')];
      await m.sendMessage(ben, ann, 'from ben');
      const ghost = randomUUID();
      const id = randomUUID();
      const now = Date.now() / 1000 + 10;
      await raw.hSet(`message:${id}`, {
        message_id: id,
        sender_id: ghost,
        receiver_id: ann,
        message: 'from a ghost',
        timestamp: String(now),
      });
      const [low, high] = ann < ghost ? [ann, ghost] : [ghost, ann];
      await raw.zAdd(`conversation:${low}:${high}`, { score: now, value: `message:${id}` });
      await raw.zAdd(`user_conversations:${ann}`, { score: now, value: ghost });
      const list = await m.listConversations(ann);
      assert.deepEqual(
        list.map((c) => [c.with.username, c.lastMessage?.text]),
        [['ben', 'from ben']],
      );
    } finally {
      await m.close();
    }
  });
});
