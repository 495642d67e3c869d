/**
 * A cluster send whose two users one master serves is one script there
 * (send-on-one-node-2.lua) instead of three requests in three rounds: one request, the
 * same effects. It finishes what the steps of an earlier try left (a retry), and when a
 * slot is not where the slot map said (migrating, moved) it writes nothing and the steps
 * take over. What a send does is tested on a cluster of one shard in messages.test.ts;
 * this file tests what is the one script's own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Keys } from '../src/core/keys.js';
import { scripts } from '../src/core/scripts.js';
import { RedisMessenger } from '../src/index.js';
import { keySlot } from '../src/redis/key-slot.js';
import { commandsDuring, startBackend } from './support/backends.js';
import { askNode, infoCount, moveSlot } from './support/move-slot.js';
import { type ClusterNode, type RedisCluster, startRedisCluster } from './support/redis-cluster.js';
import { eventually, sleep } from './support/wait.js';

describe('on a cluster of one shard', () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;
  before(async () => {
    backend = await startBackend('cluster', 1);
  });
  after(async () => {
    await backend?.stop();
  });

  const connect = async () => {
    const namespace = `one-node-${randomUUID()}`;
    const m = await RedisMessenger.connect({ ...backend.target, namespace });
    return { m, keys: new Keys(namespace, 'cluster') };
  };

  it('a send is one request', async () => {
    const { m } = await connect();
    try {
      const [a, b] = [await m.createUser('a'), await m.createUser('b')];
      await m.send(a, b, 'warm');
      const used = await commandsDuring(backend, () => m.send(a, b, 'one request'));
      // The steps would be 3 scripts in 3 rounds.
      assert.equal(used.evalsha, 1, JSON.stringify(used));
      assert.equal((await m.listUserMessages(b)).messages.length, 2);
    } finally {
      await m.close();
    }
  });

  /** Delivery alone (a send cut short after it): the sender's side not written yet. */
  const deliverOnly = (keys: Keys, id: string, from: string, to: string, text: string) =>
    scripts.deliverMessage.run(
      backend.raw,
      [
        ...[keys.user(to), keys.inbox(to), keys.conversations(to), keys.unread(to)],
        ...[keys.unseen(to, from), keys.message(id, to), keys.conversation(to, from)],
      ],
      [id, from, to, text, keys.inboxChannel(to), keys.messageMember(id, to)],
    ) as Promise<[number, string]>;

  it('a retry finishes what the steps of an earlier try left, counting the message once', async () => {
    const { m, keys } = await connect();
    try {
      const [a, b] = [await m.createUser('a'), await m.createUser('b')];
      const delivered = randomUUID();
      const [, at] = await deliverOnly(keys, delivered, a, b, 'cut short');
      assert.deepEqual(await m.unreadCount(b), { total: 1, bySender: { [a]: 1 } });
      assert.equal(await backend.raw.zCard(keys.conversation(a, b)), 0);

      const retry = await m.send(a, b, 'cut short', { messageId: delivered });
      assert.equal(retry.replayed, true);
      // Delivered before: its score, not a new one.
      assert.equal(retry.message.sentAt.getTime(), Math.floor(Number(at) * 1000));
      assert.deepEqual(await m.unreadCount(b), { total: 1, bySender: { [a]: 1 } });
      const member = keys.messageMember(delivered, b);
      for (const copy of [keys.conversation(a, b), keys.conversation(b, a)])
        assert.deepEqual(await backend.raw.zRange(copy, 0, -1), [member], copy);
      const conversations = await m.listConversations(a);
      assert.deepEqual(
        conversations.map((c) => [c.with.id, c.lastMessage?.id]),
        [[b, delivered]],
      );
    } finally {
      await m.close();
    }
  });

  it("the sender's step never moves a message already in their copy (a retry of the same send ran alongside)", async () => {
    const { m, keys } = await connect();
    try {
      const [a, b] = [await m.createUser('a'), await m.createUser('b')];
      const id = randomUUID();
      const [, at] = await deliverOnly(keys, id, a, b, 'first');
      // The retry that ran alongside finished the send (step 3, no channel), and b replied.
      const retry = await m.send(a, b, 'first', { messageId: id });
      assert.equal(retry.replayed, true);
      await m.sendMessage(b, a, 'reply');
      const copy = keys.conversation(a, b);
      const before = await backend.raw.zRangeWithScores(copy, 0, -1);
      // The first try's step 3 comes last, as the one that delivered it (with its channel).
      await scripts.noteSent.run(
        backend.raw,
        [keys.conversations(a), copy],
        [id, a, b, 'first', keys.inboxChannel(a), keys.messageMember(id, b), at],
      );
      assert.deepEqual(await backend.raw.zRangeWithScores(copy, 0, -1), before);
    } finally {
      await m.close();
    }
  });

  it('refuses an id a message the other way has, writing nothing', async () => {
    const { m, keys } = await connect();
    try {
      const [a, b] = [await m.createUser('a'), await m.createUser('b')];
      const id = await m.sendMessage(a, b, 'from a');
      await assert.rejects(m.send(b, a, 'from b', { messageId: id }), /already used/);
      assert.equal(await backend.raw.exists(keys.message(id, a)), 0);
      assert.equal(await backend.raw.zCard(keys.conversation(b, a)), 1);
    } finally {
      await m.close();
    }
  });

  it('rings the doorbells as the steps do: once for a message delivered now, never for one delivered before', async () => {
    const { m, keys } = await connect();
    try {
      const [a, b] = [await m.createUser('a'), await m.createUser('b')];
      const inbox: string[] = [];
      const sent: string[] = [];
      await m.subscribe(b, (message) => void inbox.push(message.text));
      await m.subscribe(a, () => {}, { onSent: (message) => void sent.push(message.text) });
      const first = await m.send(a, b, 'first');
      await eventually(() => inbox.length === 1 && sent.length === 1);
      // A retry of a delivered message rings nothing, whether the first try finished or
      // was cut short after delivery (which rang the receiver's doorbell, not the sender's).
      await m.send(a, b, 'first', { messageId: first.message.id });
      const cut = randomUUID();
      await deliverOnly(keys, cut, a, b, 'cut short');
      await m.send(a, b, 'cut short', { messageId: cut });
      await m.send(a, b, 'last');
      await eventually(() => inbox.length >= 3 && sent.length >= 2);
      await sleep(100);
      assert.deepEqual(inbox, ['first', 'cut short', 'last']);
      assert.deepEqual(sent, ['first', 'last']);
    } finally {
      await m.close();
    }
  });

  it('after SCRIPT FLUSH, a send answers NOSCRIPT with the script itself', async () => {
    const { m } = await connect();
    try {
      const [a, b] = [await m.createUser('a'), await m.createUser('b')];
      await m.send(a, b, 'before the flush');
      await backend.eachMaster((node) => node.sendCommand(['SCRIPT', 'FLUSH']));
      await m.send(a, b, 'after the flush');
      assert.deepEqual(
        (await m.listUserMessages(b)).messages.map((message) => message.text),
        ['before the flush', 'after the flush'],
      );
      const [cached] = await backend.eachMaster(
        (node) =>
          node.sendCommand(['SCRIPT', 'EXISTS', scripts.sendOnOneNode.sha]) as Promise<number[]>,
      );
      assert.deepEqual(cached, [1], 'the one script cached again');
    } finally {
      await m.close();
    }
  });
});

describe('when a slot is not where the map says', () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await startRedisCluster({ masters: 2 });
  });
  after(async () => {
    await cluster?.stop();
  });

  const ask = askNode;
  /** How many ASK replies a node has given (INFO errorstats). */
  const asks = (node: ClusterNode) => infoCount(node, 'errorstats', /errorstat_ASK:count=(\d+)/);
  /** How many commands a node refused to run (a script's read of a key it does not serve). */
  const refusedCommands = async (node: ClusterNode) => {
    const stats = (await ask(node, 'INFO', 'commandstats')) as unknown as string;
    return [...stats.matchAll(/rejected_calls=(\d+)/g)].reduce((sum, [, n]) => sum + Number(n), 0);
  };
  const evalShas = (node: ClusterNode) =>
    infoCount(node, 'commandstats', /cmdstat_evalsha:calls=(\d+)/);
  const migrating = async (slot: number, from: ClusterNode, to: ClusterNode) => {
    await ask(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id);
    await ask(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id);
  };
  /** Moves one key of a migrating slot ahead of the others, to the importing master. */
  const moveAhead = (from: ClusterNode, to: ClusterNode, key: string) =>
    ask(from, 'MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', key);
  /** Moves the slot's keys that are still on its old master and hands the slot over. */
  const finishMigrating = (slot: number) => moveSlot(cluster, slot);

  /** Two users whose keys one master (`home`) serves, with a messenger. */
  async function usersOnOneMaster() {
    const namespace = `one-node-migrating-${randomUUID()}`;
    const m = await RedisMessenger.connect({ cluster: [...cluster.urls], namespace });
    const keys = new Keys(namespace, 'cluster');
    for (let i = 0; i < 60; i++) {
      const [a, b] = [await m.createUser(`a${i}`), await m.createUser(`b${i}`)];
      const nodes = await Promise.all(
        [keys.user(a), keys.user(b)].map((k) => cluster.nodeForKey(k)),
      );
      const home = nodes[0] as ClusterNode;
      if (nodes.every((node) => node === home)) {
        const other = cluster.nodes.find((node) => node !== home) as ClusterNode;
        return { m, keys, a, b, home, other };
      }
    }
    await m.close();
    throw new Error('no two users on one master in 60 tries');
  }

  it("a send while the sender's slot migrates, their hash moved ahead: the one script is not sent on after ASK, and the steps deliver it once", async () => {
    const { m, keys, a, b, home, other } = await usersOnOneMaster();
    try {
      await m.send(a, b, 'before');
      const slot = keySlot(keys.user(a));
      await migrating(slot, home, other);
      await moveAhead(home, other, keys.user(a));
      const [asked, ranElsewhere] = [await asks(home), await evalShas(other)];
      const sending = m.send(a, b, 'during');
      await sleep(200);
      // The one script's own key is gone from here: ASK, and it is not sent on (the
      // importing master would read the sender's other keys as missing). The steps meet
      // TRYAGAIN (the sender's keys are split) until the slot has moved.
      assert.ok((await asks(home)) > asked, 'the one script was answered ASK');
      assert.equal((await evalShas(other)) - ranElsewhere, 0, 'nothing ran where the slot goes');
      await finishMigrating(slot);
      assert.equal((await sending).replayed, false);
      assert.deepEqual(
        (await m.listUserMessages(b)).messages.map((message) => message.text),
        ['before', 'during'],
      );
      assert.deepEqual(await m.unreadCount(b), { total: 2, bySender: { [a]: 2 } });
      assert.equal(await ask(other, 'ZCARD', keys.conversation(a, b)), 2);
    } finally {
      await m.close();
    }
  });

  it("a send with a send limit that waits out a migration of the receiver's slot takes one token, and tells the sender's channel", async () => {
    const { m, keys, a, b, home, other } = await usersOnOneMaster();
    try {
      const slot = keySlot(keys.user(b));
      await migrating(slot, home, other);
      await moveAhead(home, other, keys.user(b));
      const told: string[] = [];
      await m.subscribe(a, () => {}, { onSent: (message) => void told.push(message.text) });
      // One token: a second try of step 1 (the whole send again after step 2's TRYAGAIN)
      // would find the bucket empty and refuse a send that only had to wait.
      const sending = m.send(a, b, 'during', { limit: { burst: 1, perSecond: 0.01 } });
      await sleep(300);
      await finishMigrating(slot);
      assert.equal((await sending).replayed, false);
      assert.deepEqual(
        (await m.listUserMessages(b)).messages.map((message) => message.text),
        ['during'],
      );
      await eventually(() => told.length > 0, 5000, "the sender's channel told");
      assert.deepEqual(told, ['during']);
    } finally {
      await m.close();
    }
  });

  it("a send while the receiver's slot migrates, a key of it moved ahead: the one script writes nothing, and the steps deliver it once", async () => {
    const { m, keys, a, b, home, other } = await usersOnOneMaster();
    try {
      await m.send(a, b, 'before');
      const slot = keySlot(keys.user(b));
      await migrating(slot, home, other);
      // The receiver's hash has gone ahead; the inbox and the counters have not.
      await moveAhead(home, other, keys.user(b));
      // The script's read of the receiver fails here (the key is elsewhere), before any
      // write: without reading every key first it would fail half done. The steps then
      // meet TRYAGAIN (the receiver's keys are split) until the slot has moved.
      const id = randomUUID();
      const refusedBefore = await refusedCommands(home);
      const sending = m.send(a, b, 'during', { messageId: id });
      await sleep(200);
      // Meanwhile the script was tried (and retried with the send): its read of the
      // receiver refused. (After the move, a MOVED's nudge may be refused too: not yet.)
      assert.ok((await refusedCommands(home)) > refusedBefore, "the one script's read refused");
      await finishMigrating(slot);
      // (Stored by the first try's steps, then retried whole after TRYAGAIN: a replay.)
      assert.equal((await sending).message.id, id);
      const inbox = await m.listUserMessages(b);
      assert.deepEqual(
        inbox.messages.map((message) => message.text),
        ['before', 'during'],
      );
      assert.deepEqual(await m.unreadCount(b), { total: 2, bySender: { [a]: 2 } });
      assert.equal(await ask(other, 'ZCARD', keys.inbox(b)), 2);
      assert.equal(await ask(home, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot)), 0);
    } finally {
      await m.close();
    }
  });
});
