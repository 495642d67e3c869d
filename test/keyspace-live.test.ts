/**
 * Messages the original program writes (it rings no doorbell) delivered live through
 * Redis keyspace notifications, where the operator turned them on; what `liveCoverage`
 * says with them on, off, and when CONFIG GET is refused; and the conversation entries a
 * subscriber adds for what it delivers. The original program is test/support/seed-program.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createClient, type RedisClientType } from 'redis';
import { type LiveCoverage, type Message, RedisMessenger } from '../src/index.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { SeedProgram } from './support/seed-program.js';
import { eventually } from './support/wait.js';

let notifying: RedisServer;
let plain: RedisServer;
let admin: RedisClientType;

before(async () => {
  [notifying, plain] = await Promise.all([
    startRedisServer(['--notify-keyspace-events', 'Kz']),
    startRedisServer(),
  ]);
  admin = createClient({ url: notifying.url });
  await admin.connect();
});
after(async () => {
  await admin?.close();
  await Promise.all([notifying?.stop(), plain?.stop()]);
});

/** A messenger on `url` and the original program on a connection of its own; closed after `body`. */
async function withBoth(
  url: string,
  body: (m: RedisMessenger, seed: SeedProgram, coverage: LiveCoverage[]) => Promise<void>,
): Promise<void> {
  const raw: RedisClientType = createClient({ url });
  await raw.connect();
  // Allowed only because this test started the servers: they are nobody else's data.
  await raw.flushAll();
  const told: LiveCoverage[] = [];
  const m = await RedisMessenger.connect({ url, onLiveCoverage: (c) => told.push(c) });
  try {
    await body(m, new SeedProgram(raw), told);
  } finally {
    await m.close();
    await raw.close();
  }
}

/** How many script calls (EVALSHA) the server has run so far. */
async function scriptCalls(client: RedisClientType): Promise<number> {
  const info = await client.info('commandstats');
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

describe('keyspace notifications on (notify-keyspace-events Kz)', () => {
  it('delivers every message the original program writes live, once, in order, promptly', async () => {
    await withBoth(notifying.url, async (m, seed, told) => {
      const alice = await seed.createUser('alice');
      const bob = await seed.createUser('bob');
      const received: Message[] = [];
      const subscription = await m.subscribe(bob, (message) => void received.push(message));
      assert.equal(told.length, 1, 'onLiveCoverage is called once');
      assert.equal(told[0]?.keyspaceNotifications, 'on');
      assert.equal(told[0]?.listening, true);

      // One message alone: no doorbell will ever ring for it.
      const first = await seed.sendMessage(alice, bob, 'first');
      const sentAt = Date.now();
      await eventually(() => received.length === 1, 3000, 'the first message, live');
      const latencyMs = Date.now() - sentAt;
      assert.equal(received[0]?.id, first);

      const ids = [first];
      for (let i = 0; i < 100; i++) ids.push(await seed.sendMessage(alice, bob, `m${i}`));
      await eventually(() => received.length >= ids.length, 5000, 'all 101 messages, live');
      // Anything delivered twice would be behind the last one: wait for the queue to drain.
      await eventually(() => subscription.queued === 0, 2000, 'the queue to drain');
      assert.deepEqual(
        received.map((x) => x.id),
        ids,
      );
      // Delivered live means: in the conversation too, with no reindex.
      const conversation = await m.listConversation(bob, alice, { limit: 200 });
      assert.deepEqual(
        conversation.messages.map((x) => x.id),
        ids,
      );
      const [summary] = await m.listConversations(bob);
      assert.equal(summary?.with.id, alice);
      assert.equal(summary?.lastMessage?.id, ids.at(-1));
      assert.equal(summary?.unread, 0, "the original's messages count as seen");
      console.log(`# first message live after ${latencyMs} ms`);
      await subscription.close();
    });
  });

  it("rings this library's own sends once, with no extra read", async () => {
    await withBoth(notifying.url, async (m, seed) => {
      const alice = await m.createUser('alice');
      const bob = await m.createUser('bob');
      const received: Message[] = [];
      const subscription = await m.subscribe(bob, (message) => void received.push(message));
      const before = await scriptCalls(admin);
      const ids: string[] = [];
      // Each message delivered before the next is sent, so that no wake-up is folded into
      // another: every one is counted.
      const delivered = (count: number) =>
        eventually(() => received.length >= count, 3000, `message ${count}, live`);
      for (let i = 0; i < 50; i++) {
        ids.push(await m.sendMessage(alice, bob, `ours ${i}`));
        await delivered(ids.length);
        ids.push(await seed.sendMessage(alice, bob, `theirs ${i}`));
        await delivered(ids.length);
      }
      await eventually(() => subscription.queued === 0, 2000, 'the queue to drain');
      const calls = (await scriptCalls(admin)) - before;
      // 50 sends are 50 scripts, and each of the original's messages one read (page-1).
      // Reading at the notification of a send as well as at its doorbell would add 100.
      assert.ok(calls <= 100 + 10, `${calls} script calls for 50 sends and 50 wake-ups`);
      assert.equal(new Set(received.map((x) => x.id)).size, received.length, 'no duplicate');
      assert.deepEqual(new Set(received.map((x) => x.id)), new Set(ids));
      await subscription.close();
    });
  });

  it('delivers each message once while both programs write at once, also those stored behind the cursor', async () => {
    await withBoth(notifying.url, async (m, seed) => {
      const alice = await seed.createUser('alice');
      const bob = await seed.createUser('bob');
      const second = createClient({ url: notifying.url });
      await second.connect();
      try {
        const seeds = [seed, new SeedProgram(second as RedisClientType)];
        const received: Message[] = [];
        const subscription = await m.subscribe(bob, (message) => void received.push(message));
        const theirs: string[] = [];
        const ours: string[] = [];
        // Two copies of the original and this library at once: the original's entries,
        // scored by its clock before its two writes, often land behind one already delivered.
        await Promise.all([
          ...seeds.map(async (s, k) => {
            for (let i = 0; i < 150; i++)
              theirs.push(await s.sendMessage(alice, bob, `t${k} ${i}`));
          }),
          (async () => {
            for (let i = 0; i < 150; i++) ours.push(await m.sendMessage(alice, bob, `o ${i}`));
          })(),
        ]);
        const all = new Set([...theirs, ...ours]);
        await eventually(() => received.length >= all.size, 5000, 'all 450 messages, live');
        await eventually(() => subscription.queued === 0, 2000, 'the queue to drain');
        const ids = received.map((x) => x.id);
        assert.equal(new Set(ids).size, ids.length, 'no message delivered twice');
        assert.deepEqual(new Set(ids), all);
        // The inbox itself, as the subscription's cursor and late entries see it.
        const inbox = await m.listUserMessages(bob, { limit: 500 });
        assert.equal(inbox.messages.length, all.size);
        await subscription.close();
      } finally {
        await second.close();
      }
    });
  });

  it('finds an entry stored behind the cursor at the moment a doorbell rings', async () => {
    await withBoth(notifying.url, async (m) => {
      const alice = await m.createUser('alice');
      const bob = await m.createUser('bob');
      const received: Message[] = [];
      const subscription = await m.subscribe(bob, (message) => void received.push(message));
      const cursorId = await m.sendMessage(alice, bob, 'the cursor');
      await eventually(() => received.length === 1, 3000, 'the cursor message');
      const cursorScore = Number(await admin.zScore(`user_messages:${bob}`, `message:${cursorId}`));
      // In one transaction, so that the subscriber hears it all at once: the original's
      // message scored just behind the cursor, then a message stored (and rung) as this
      // library stores one, right after the cursor. The notifications come first, then the
      // doorbell, which follows the cursor and is delivered as it is.
      const late = randomUUID();
      const next = randomUUID();
      const nextStamp = (cursorScore + 0.001).toFixed(6);
      await admin
        .multi()
        .hSet(`message:${late}`, {
          message_id: late,
          sender_id: alice,
          receiver_id: bob,
          message: 'late',
          timestamp: String(cursorScore - 0.001),
        })
        .zAdd(`user_messages:${bob}`, { score: cursorScore - 0.001, value: `message:${late}` })
        .hSet(`message:${next}`, {
          message_id: next,
          sender_id: alice,
          receiver_id: bob,
          message: 'next',
          timestamp: nextStamp,
          seen: 'False',
        })
        .zAdd(`user_messages:${bob}`, { score: Number(nextStamp), value: `message:${next}` })
        .publish(
          `user_messages:${bob}`,
          JSON.stringify({
            id: next,
            sender_id: alice,
            receiver_id: bob,
            message: 'next',
            timestamp: nextStamp,
            previous: `message:${cursorId}`,
          }),
        )
        .exec();
      await eventually(() => received.length === 3, 3000, 'both messages');
      assert.deepEqual(
        received.map((x) => x.text),
        ['the cursor', 'next', 'late'],
      );
      await subscription.close();
    });
  });

  it('says unknown and listens anyway when CONFIG GET is refused', async () => {
    await admin.sendCommand('ACL SETUSER noconfig on >pw ~* &* +@all -config'.split(' '));
    const url = `redis://noconfig:pw@127.0.0.1:${notifying.port}`;
    await withBoth(url, async (m, seed) => {
      const coverage = await m.liveCoverage();
      assert.equal(coverage.keyspaceNotifications, 'unknown');
      assert.equal(coverage.listening, true);
      assert.match(coverage.summary, /refused CONFIG GET/);
      const alice = await seed.createUser('alice');
      const bob = await seed.createUser('bob');
      const received: Message[] = [];
      const subscription = await m.subscribe(bob, (message) => void received.push(message));
      const id = await seed.sendMessage(alice, bob, 'heard all the same');
      await eventually(() => received.length === 1, 3000, 'the message, live');
      assert.equal(received[0]?.id, id);
      await subscription.close();
    });
  });
});

describe('keyspace channels refused by an ACL', () => {
  it('reports the refusal once and goes on with the doorbell alone', async () => {
    await admin.sendCommand(
      'ACL SETUSER doorbellonly on >pw ~* resetchannels &user_messages:* +@all -config'.split(' '),
    );
    const url = `redis://doorbellonly:pw@127.0.0.1:${notifying.port}`;
    await withBoth(url, async (m) => {
      const alice = await m.createUser('alice');
      const bob = await m.createUser('bob');
      const received: Message[] = [];
      const errors: Error[] = [];
      const subscription = await m.subscribe(bob, (message) => void received.push(message), {
        onError: (error) => errors.push(error),
      });
      assert.equal(errors.length, 1, 'the refused keyspace channel, reported');
      assert.match(errors[0]?.message ?? '', /NOPERM|permission/i);
      const id = await m.sendMessage(alice, bob, 'rung as ever');
      await eventually(() => received.length === 1, 3000, 'the message, at its doorbell');
      assert.equal(received[0]?.id, id);
      await subscription.close();
    });
  });
});

describe('keyspace notifications off (the default)', () => {
  it("says what is live and what needs reindex, and delivers the original's with the next doorbell", async () => {
    await withBoth(plain.url, async (m, seed, told) => {
      const coverage = await m.liveCoverage();
      assert.equal(coverage.keyspaceNotifications, 'off');
      assert.equal(coverage.listening, false);
      assert.match(coverage.summary, /reindex/);
      assert.match(coverage.summary, /CONFIG SET notify-keyspace-events Kz /);
      assert.doesNotMatch(coverage.summary, /\n/, 'one line');
      assert.deepEqual(told, [coverage]);

      const alice = await seed.createUser('alice');
      const bob = await seed.createUser('bob');
      const received: Message[] = [];
      const subscription = await m.subscribe(bob, (message) => void received.push(message));
      const theirs = await seed.sendMessage(alice, bob, 'no doorbell');
      const ours = await m.sendMessage(alice, bob, 'rings');
      await eventually(() => received.length === 2, 3000, 'both, at the doorbell');
      assert.deepEqual(
        received.map((x) => x.id),
        [theirs, ours],
      );
      // The subscriber added the original's message to the conversation as it delivered it.
      const conversation = await m.listConversation(alice, bob);
      assert.deepEqual(
        conversation.messages.map((x) => x.id),
        [theirs, ours],
      );
      await subscription.close();
    });
  });

  it("replays this library's messages with no write, and indexes the original's", async () => {
    await withBoth(plain.url, async (m, seed) => {
      const raw = createClient({ url: plain.url });
      await raw.connect();
      try {
        const alice = await m.createUser('alice');
        const bob = await m.createUser('bob');
        const first = await m.sendMessage(alice, bob, 'first');
        for (let i = 0; i < 30; i++) await m.sendMessage(alice, bob, `ours ${i}`);
        const zAdds = async () =>
          Number(/cmdstat_zadd:calls=(\d+)/.exec(await raw.info('commandstats'))?.[1] ?? 0);
        const replay = async () => {
          const received: Message[] = [];
          const subscription = await m.subscribe(bob, (x) => void received.push(x), {
            after: first,
          });
          await subscription.close();
          return received;
        };
        let before = await zAdds();
        assert.equal((await replay()).length, 30);
        assert.equal((await zAdds()) - before, 0, 'ZADDs while replaying our own messages');

        for (let i = 0; i < 5; i++) await seed.sendMessage(alice, bob, `theirs ${i}`);
        before = await zAdds();
        assert.equal((await replay()).length, 35);
        // Each of the original's: its conversation, and both users' lists.
        assert.equal((await zAdds()) - before, 5 * 3);
        assert.equal((await m.listConversation(alice, bob, { limit: 50 })).messages.length, 36);
      } finally {
        await raw.close();
      }
    });
  });

  it('keeps the flags already set in the command it suggests', async () => {
    const raw = createClient({ url: plain.url });
    await raw.connect();
    try {
      await raw.configSet('notify-keyspace-events', 'Ex');
      const m = await RedisMessenger.connect({ url: plain.url });
      try {
        const { summary } = await m.liveCoverage();
        assert.match(summary, /CONFIG SET notify-keyspace-events xEKz \(now "xE"\)/);
      } finally {
        await m.close();
      }
    } finally {
      await raw.configSet('notify-keyspace-events', '');
      await raw.close();
    }
  });

  it('under a namespace: not needed, no CONFIG GET', async () => {
    const m = await RedisMessenger.connect({ url: plain.url, namespace: `ks${Date.now()}` });
    try {
      const coverage = await m.liveCoverage();
      assert.equal(coverage.keyspaceNotifications, 'not-needed');
      assert.equal(coverage.listening, false);
    } finally {
      await m.close();
    }
  });
});
