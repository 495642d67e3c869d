/**
 * What only a Redis Cluster has: the hash-tagged key layout, sends and seen flags written
 * as single-slot steps (a crash between two steps is replayed here by running the first
 * steps' scripts alone, exactly as a crashed client would have left them), the sharded
 * doorbell, and connection options. Everything else runs on a cluster in the library's
 * own tests (users, messages, live), which run each test on both backends.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Keys } from '../src/core/keys.js';
import { scripts } from '../src/core/scripts.js';
import {
  isUnconfirmed,
  RedisMessenger as Messenger,
  RedisCommandError,
  type RedisMessenger,
  RedisUnavailableError,
  ValidationError,
} from '../src/index.js';
import { nodeUrl, type RedisConnection } from '../src/redis/connect.js';
import { keySlot } from '../src/redis/key-slot.js';
import { startBackend } from './support/backends.js';
import { storeUncounted } from './support/big-inbox.js';
import { freePort, startRedisServer } from './support/redis-server.js';

let backend: Awaited<ReturnType<typeof startBackend>>;

before(async () => {
  backend = await startBackend('cluster');
});
after(async () => {
  await backend?.stop();
});

/** A messenger in a fresh namespace, its key names, and two users. */
async function setUp() {
  const namespace = `cluster-${randomUUID()}`;
  const m = await Messenger.connect({ ...backend.target, namespace });
  const keys = new Keys(namespace, 'cluster');
  return { m, keys, a: await m.createUser('a'), b: await m.createUser('b') };
}

const raw = (): RedisConnection => backend.raw;

/**
 * Step 2 of a send alone (after the sender's check, which writes nothing): what a client
 * that crashed right after it leaves behind. The message is delivered: in the inbox,
 * counted, in the receiver's copy of the conversation; the sender's side is not written.
 */
function deliverOnly(keys: Keys, id: string, from: string, to: string, text: string) {
  return scripts.deliverMessage.run(
    raw(),
    [
      ...[keys.user(to), keys.inbox(to), keys.conversations(to), keys.unread(to)],
      ...[keys.unseen(to, from), keys.message(id, to), keys.conversation(to, from)],
    ],
    [id, from, to, text, keys.inboxChannel(to), keys.messageMember(id, to)],
  );
}

describe('the cluster key layout', () => {
  it('tags every key so that each step touches one slot, and spreads users over the shards', async () => {
    const { m, keys, a, b } = await setUp();
    try {
      const id = await m.sendMessage(a, b, 'hello');
      await m.addContact(a, b);
      const ns = keys.prefix;
      const stored = (await backend.keys(`${ns}*`)).sort();
      const expected = [
        `${ns}{directory}:name_index`,
        `${ns}{directory}:user_index`,
        `${ns}{directory}:usernames`,
        `${ns}{directory}:usernames_folded`,
        `${ns}{directory}:usernames_indexed`,
        `${ns}user:{${a}}`,
        `${ns}user:{${b}}`,
        `${ns}user_contacts:{${a}}`,
        `${ns}{directory}:layout`,
        `${ns}message:{${b}}:${id}`,
        `${ns}user_messages:{${b}}`,
        `${ns}user_unread:{${b}}`,
        `${ns}user_unseen:{${b}}:${a}`,
        `${ns}user_conversations:{${a}}`,
        `${ns}user_conversations:{${b}}`,
        `${ns}conversation:{${a}}:${b}`,
        `${ns}conversation:{${b}}:${a}`,
      ].sort();
      assert.deepEqual(stored, expected);
      assert.equal(await raw().get(keys.clusterLayout), '2');
      // A user's keys share one slot, the messages they received and their copy of each
      // conversation too; index members name the hash (its key without the namespace).
      const slots = new Set(
        [
          ...[keys.user(b), keys.inbox(b), keys.unread(b), keys.unseen(b, a)],
          ...[keys.conversations(b), keys.message(id, b), keys.conversation(b, a)],
        ].map(keySlot),
      );
      assert.equal(slots.size, 1);
      const member = `message:{${b}}:${id}`;
      assert.deepEqual(await raw().zRange(keys.inbox(b), 0, -1), [member]);
      assert.deepEqual(await raw().zRange(keys.conversation(a, b), 0, -1), [member]);
      assert.deepEqual(await raw().zRange(keys.conversation(b, a), 0, -1), [member]);
      // Users land on different shards: 30 users' slots fall on all three masters.
      const users = await Promise.all(
        Array.from({ length: 30 }, (_, i) => m.createUser(`spread${i}`)),
      );
      const owners = new Set(users.map((user) => masterAddress(keySlot(keys.user(user)))));
      assert.equal(owners.size, 3);
    } finally {
      await m.close();
    }
  });
});

function masterAddress(slot: number): string {
  const client = raw();
  if (!('getSlotMaster' in client)) throw new Error('not a cluster');
  return client.getSlotMaster(slot).address;
}

describe('a send cut short between its steps', () => {
  it("after delivery is visible to the receiver; a retry completes the sender's side without counting it twice", async () => {
    const { m, keys, a, b } = await setUp();
    try {
      const id = randomUUID();
      const [delivered, timestamp] = (await deliverOnly(keys, id, a, b, 'half done')) as [
        number,
        string,
      ];
      assert.equal(delivered, 1);
      // Visible to the receiver (this is the moment the send counts as stored)...
      assert.deepEqual(
        (await m.listUserMessages(b)).messages.map((x) => x.id),
        [id],
      );
      assert.equal((await m.unreadCount(b)).total, 1);
      assert.deepEqual(
        (await m.listConversation(b, a)).messages.map((x) => x.id),
        [id],
      );
      // ...but not yet in the sender's copy of the conversation, nor in their list.
      assert.deepEqual((await m.listConversation(a, b)).messages, []);
      assert.deepEqual(await m.listConversations(a), []);

      assert.equal(await m.sendMessage(a, b, 'half done', { messageId: id }), id);
      assert.deepEqual(
        (await m.listConversation(a, b)).messages.map((x) => x.id),
        [id],
      );
      assert.deepEqual(
        (await m.listConversations(a)).map((c) => [c.with.id, c.lastMessage?.id]),
        [[b, id]],
      );
      assert.equal((await m.unreadCount(b)).total, 1, 'counted once');
      assert.equal((await m.listUserMessages(b)).messages.length, 1);
      // One timestamp: the hash's is the inbox score.
      assert.equal(await raw().hGet(keys.message(id, b), 'timestamp'), timestamp);
      const score = await raw().zScore(keys.inbox(b), keys.messageMember(id, b));
      assert.equal(Number(timestamp), score);
    } finally {
      await m.close();
    }
  });

  it("after delivery, reindex completes the sender's side when nobody retries", async () => {
    const { m, keys, a, b } = await setUp();
    try {
      const id = randomUUID();
      await deliverOnly(keys, id, a, b, 'abandoned');
      const report = await m.reindex();
      assert.equal(report.messages, 1);
      assert.deepEqual(
        (await m.listConversation(a, b)).messages.map((x) => x.id),
        [id],
      );
      assert.deepEqual(
        (await m.listConversations(a)).map((c) => c.with.id),
        [b],
      );
      assert.deepEqual(await m.unreadCount(b), { total: 1, bySender: { [a]: 1 } });
      assert.equal(await raw().zCard(keys.conversation(b, a)), 1, "the receiver's copy once");
    } finally {
      await m.close();
    }
  });

  it("a send finished after another in the other direction lands after it in the sender's copy", async () => {
    const { m, keys, a, b } = await setUp();
    try {
      // a -> b is delivered (scored by b's slot's clock), then b -> a is sent whole (scored
      // later, by a's), and only then does a -> b reach a's copy of the conversation.
      const first = randomUUID();
      await deliverOnly(keys, first, a, b, 'delivered first');
      const second = await m.sendMessage(b, a, 'sent whole');
      const seen = await m.listConversation(a, b);
      assert.deepEqual(
        seen.messages.map((x) => x.id),
        [second],
      );
      await m.sendMessage(a, b, 'delivered first', { messageId: first });
      // A reader of a's copy who had reached `second` pages forwards and finds `first`.
      const next = await m.listConversation(a, b, { after: second });
      assert.deepEqual(
        next.messages.map((x) => x.id),
        [first],
      );
      // b's copy has them in the order they reached it; paging from either cursor works.
      assert.deepEqual(
        (await m.listConversation(b, a, { after: first })).messages.map((x) => x.id),
        [second],
      );
      // The inbox keeps its own order and score; the hash its inbox score.
      const inboxScore = await raw().zScore(keys.inbox(b), keys.messageMember(first, b));
      assert.equal(Number(await raw().hGet(keys.message(first, b), 'timestamp')), inboxScore);
    } finally {
      await m.close();
    }
  });

  it('refuses a retry whose text differs after delivery, and stores nothing', async () => {
    const { m, keys, a, b } = await setUp();
    try {
      const id = randomUUID();
      await deliverOnly(keys, id, a, b, 'original');
      await assert.rejects(m.sendMessage(a, b, 'changed', { messageId: id }), /already used/);
      assert.deepEqual(
        (await m.listUserMessages(b)).messages.map((x) => x.text),
        ['original'],
      );
      assert.deepEqual((await m.listConversation(a, b)).messages, []);
    } finally {
      await m.close();
    }
  });

  it('refuses an id that a message the other way already has, so ids stay unique in a conversation', async () => {
    const { m, keys, a, b } = await setUp();
    try {
      const id = await m.sendMessage(a, b, 'from a');
      // b's reply under a's id would be stored in a's slot, apart from a's message (in
      // b's): the sender's check finds that one in b's slot, and refuses.
      await assert.rejects(m.sendMessage(b, a, 'from b', { messageId: id }), /already used/);
      assert.equal(await raw().exists(keys.message(id, a)), 0, 'nothing stored');
      assert.deepEqual(
        (await m.listConversation(a, b)).messages.map((x) => x.text),
        ['from a'],
      );
      assert.equal((await m.unreadCount(a)).total, 0);
    } finally {
      await m.close();
    }
  });
});

describe('seen flags cut short', () => {
  it('a mark cut short after its flip is finished by its retry: the counter is lowered once', async () => {
    const { m, keys, a, b } = await setUp();
    try {
      const id = await m.sendMessage(a, b, 'read elsewhere');
      // markSeen's step 2 alone: the flag flipped, the counter not lowered.
      assert.deepEqual(await scripts.flipSeen.run(raw(), [keys.message(id, b)], [b]), [1, a]);
      assert.equal((await m.unreadCount(b)).total, 1);
      // The retry flips nothing, and finishes what the cut one began.
      assert.equal(await m.markSeen(b, [id]), 1);
      assert.deepEqual(await m.unreadCount(b), { total: 0, bySender: {} });
      assert.equal(await m.markSeen(b, [id]), 0, 'not lowered twice');
      assert.deepEqual(await m.unreadCount(b), { total: 0, bySender: {} });
    } finally {
      await m.close();
    }
  });

  it('markConversationSeen finishes a cut-short mark and repairs a counter that drifted', async () => {
    const { m, keys, a, b } = await setUp();
    try {
      const ids = [
        await m.sendMessage(a, b, '1'),
        await m.sendMessage(a, b, '2'),
        await m.sendMessage(a, b, '3'),
      ];
      await scripts.flipSeen.run(raw(), [keys.message(ids[0] as string, b)], [b]); // cut short
      assert.equal(await m.markConversationSeen(b, a), 3);
      assert.deepEqual(await m.unreadCount(b), { total: 0, bySender: {} });
      // A counter that says more than is unseen (written by something else) is set to
      // what is unseen by the next mark, even one that finds nothing.
      const fourth = await m.sendMessage(a, b, '4');
      await raw().hSet(keys.unread(b), a, '7');
      assert.equal((await m.unreadCount(b)).total, 7);
      assert.equal(await m.markSeen(b, [ids[1] as string]), 0);
      assert.deepEqual(await m.unreadCount(b), { total: 1, bySender: { [a]: 1 } });
      await raw().hSet(keys.unread(b), a, 'not a number');
      assert.equal(await m.markConversationSeen(b, a), 1);
      assert.deepEqual(await m.unreadCount(b), { total: 0, bySender: {} });
      assert.equal((await m.listUserMessages(b)).messages.find((x) => x.id === fourth)?.seen, true);
    } finally {
      await m.close();
    }
  });

  it('markConversationSeen while a send is between delivery and the conversation marks that message too', async () => {
    const { m, keys, a, b } = await setUp();
    try {
      const first = await m.sendMessage(a, b, 'first');
      const second = randomUUID();
      await deliverOnly(keys, second, a, b, 'second'); // counted unread, not yet in a's copy
      assert.equal((await m.unreadCount(b)).total, 2);
      // It is in the inbox, from that sender: marking the conversation marks it.
      assert.equal(await m.markConversationSeen(b, a), 2);
      assert.deepEqual(await m.unreadCount(b), { total: 0, bySender: {} });
      assert.deepEqual(await m.listUnreadMessages(b), []);
      // The send completes; nothing is counted again.
      await m.sendMessage(a, b, 'second', { messageId: second });
      assert.equal(await m.markConversationSeen(b, a), 0);
      assert.deepEqual(await m.unreadCount(b), { total: 0, bySender: {} });
      const inbox = await m.listUserMessages(b);
      assert.deepEqual(
        inbox.messages.map((x) => [x.id, x.seen]),
        [
          [first, true],
          [second, true],
        ],
      );
    } finally {
      await m.close();
    }
  });

  it('the recount of reindex stays exact while messages it counts are being marked seen', async () => {
    const { m, keys, a, b } = await setUp();
    try {
      // Unseen messages another program stored: in the inbox, counted nowhere yet.
      const ids = await storeUncounted(raw(), keys, { a, b }, 1500);
      // Marks land between the recount's read of a flag and its write of the set.
      let marking = true;
      const marker = async (from: number) => {
        for (let i = from; marking && i < ids.length; i += 4)
          await m.markSeen(b, [ids[i] as string]);
      };
      const markers = [0, 1, 2, 3].map(marker);
      await m.reindex();
      marking = false;
      await Promise.all(markers);
      const flags = await Promise.all(ids.map((id) => raw().hGet(keys.message(id, b), 'seen')));
      const unseen = ids
        .filter((_, i) => flags[i] === 'False')
        .map((id) => keys.messageMember(id, b));
      assert.ok(unseen.length < ids.length, 'the markers marked some while the recount ran');
      assert.deepEqual((await raw().zRange(keys.unseen(b, a), 0, -1)).sort(), unseen.sort());
      assert.equal((await m.unreadCount(b)).total, unseen.length);
    } finally {
      await m.close();
    }
  });

  it('reindex recounts unread counters from the seen flags', async () => {
    const { m, keys, a, b } = await setUp();
    try {
      const ids = [
        await m.sendMessage(a, b, '1'),
        await m.sendMessage(a, b, '2'),
        await m.sendMessage(a, b, '3'),
      ];
      await scripts.flipSeen.run(raw(), [keys.message(ids[0] as string, b)], [b]);
      await raw().hSet(keys.unread(b), a, '7'); // drifted
      await m.reindex();
      assert.deepEqual(await m.unreadCount(b), { total: 2, bySender: { [a]: 2 } });
      // The set the counter is the size of is rebuilt too: marks go on counting right.
      assert.deepEqual(
        await raw().zRange(keys.unseen(b, a), 0, -1),
        ids.slice(1).map((id) => keys.messageMember(id, b)),
      );
      assert.equal(await m.markSeen(b, [ids[0] as string]), 0);
      assert.equal(await m.markSeen(b, [ids[1] as string]), 1);
      assert.deepEqual(await m.unreadCount(b), { total: 1, bySender: { [a]: 1 } });
    } finally {
      await m.close();
    }
  });
});

describe('live delivery on a cluster', () => {
  it('listens on a sharded channel on the master serving the inbox', async () => {
    const { m, keys, b } = await setUp();
    try {
      const subscription = await m.subscribe(b, () => {});
      const port = Number(
        masterAddress(keySlot(keys.inbox(b)))
          .split(':')
          .at(-1),
      );
      const listeners = await backend.eachMaster(async (node) => ({
        port: Number((await node.configGet('port')).port),
        shardChannels: (await node.sendCommand(['PUBSUB', 'SHARDCHANNELS'])) as string[],
      }));
      const owner = listeners.find((node) => node.port === port);
      assert.deepEqual(owner?.shardChannels, [keys.inboxChannel(b)]);
      assert.ok(
        listeners.every((node) => node.port === port || node.shardChannels.length === 0),
        JSON.stringify(listeners),
      );
      await subscription.close();
    } finally {
      await m.close();
    }
  });
});

describe('connecting to a cluster', () => {
  it('fails fast with RedisUnavailableError when no node answers', async () => {
    const port = await freePort();
    const started = Date.now();
    const error = await Messenger.connect({
      cluster: [`redis://127.0.0.1:${port}`],
      connectTimeoutMs: 2000,
    }).catch((e: unknown) => e);
    assert.ok(error instanceof RedisUnavailableError, String(error));
    assert.ok(isUnconfirmed(error));
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}.*Redis Cluster`));
    assert.ok(Date.now() - started < 3000);
  });

  it('finds every node from one of them, and keeps passwords out of messages', async () => {
    const [first] = backend.target && 'cluster' in backend.target ? backend.target.cluster : [];
    const m: RedisMessenger = await Messenger.connect({ cluster: [first as string] });
    try {
      const a = await m.createUser(`one-${randomUUID().slice(0, 8)}`);
      assert.ok(await m.getUser(a));
    } finally {
      await m.close();
    }
    const port = await freePort();
    const error = await Messenger.connect({
      cluster: [`redis://user:s3cret@127.0.0.1:${port}`],
      connectTimeoutMs: 1000,
    }).catch((e: unknown) => e);
    assert.ok(error instanceof RedisUnavailableError);
    assert.doesNotMatch(error.message, /s3cret/);
  });

  it('takes the nodes from REDIS_CLUSTER when neither url nor cluster is given', async () => {
    const saved = process.env.REDIS_CLUSTER;
    const nodes = ('cluster' in backend.target ? backend.target.cluster : [])
      .map((url) => new URL(url).host)
      .join(',');
    const namespace = `from-env-${randomUUID()}`;
    try {
      process.env.REDIS_CLUSTER = nodes;
      const m = await Messenger.connect({ namespace });
      try {
        const id = await m.createUser('env');
        assert.deepEqual(await backend.keys(`${namespace}:user:*`), [`${namespace}:user:{${id}}`]);
      } finally {
        await m.close();
      }
      process.env.REDIS_CLUSTER = 'not a node list';
      await assert.rejects(Messenger.connect({ namespace }), ValidationError);
    } finally {
      if (saved === undefined) delete process.env.REDIS_CLUSTER;
      else process.env.REDIS_CLUSTER = saved;
    }
  });

  it('says so when a cluster is given for one Redis, or one Redis for a cluster', async () => {
    const single = await startRedisServer();
    try {
      const error = await Messenger.connect({ cluster: [single.url] }).catch((e: unknown) => e);
      assert.ok(error instanceof ValidationError, String(error));
      assert.match(error.message, /without cluster support.*--redis/);
    } finally {
      await single.stop();
    }
    const [node] = 'cluster' in backend.target ? backend.target.cluster : [];
    const asOne = await Messenger.connect({ url: node as string, namespace: 'as-one' });
    try {
      const error = await asOne.createUser('someone').catch((e: unknown) => e);
      assert.ok(error instanceof RedisCommandError, String(error));
      assert.match(error.message, /node of a Redis Cluster.*--cluster/);
    } finally {
      await asOne.close();
    }
  });

  it('reaches a node the cluster names by IPv6 address, with the credentials of the URLs', () => {
    assert.equal(
      nodeUrl('redis://u:p%40ss@127.0.0.1:7000', '::1', 7001),
      'redis://u:p%40ss@[::1]:7001',
    );
    assert.equal(nodeUrl('rediss://127.0.0.1:7000', '10.0.0.2', 7002), 'rediss://10.0.0.2:7002');
  });

  it('refuses bad cluster options before connecting', async () => {
    const url = 'redis://127.0.0.1:1';
    await assert.rejects(Messenger.connect({ cluster: [] }), ValidationError);
    await assert.rejects(Messenger.connect({ cluster: url as never }), ValidationError);
    await assert.rejects(Messenger.connect({ cluster: [url], url }), ValidationError);
    await assert.rejects(Messenger.connect({ cluster: ['unix:///tmp/x.sock'] }), ValidationError);
    await assert.rejects(Messenger.connect({ cluster: ['http://x'] }), ValidationError);
  });
});
