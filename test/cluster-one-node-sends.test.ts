/**
 * A cluster send whose four slots one master serves is one script there
 * (send-on-one-node-1.lua) instead of six requests in three rounds: one request, the
 * same effects. It finishes what the steps of an earlier try left (a retry), and when a
 * slot is not where the slot map said (migrating, moved) it writes nothing and the steps
 * take over. What a send does is tested on a cluster of one shard in messages.test.ts;
 * this file tests what is the one script's own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Keys, messageMember } from '../src/core/keys.js';
import { scripts } from '../src/core/scripts.js';
import { RedisMessenger } from '../src/index.js';
import { keySlot } from '../src/redis/key-slot.js';
import type { LuaScript } from '../src/redis/lua-script.js';
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
      // The steps would be 5 scripts (and a TYPE) in 3 rounds.
      assert.equal(used.evalsha, 1, JSON.stringify(used));
      assert.equal((await m.listUserMessages(b)).messages.length, 2);
    } finally {
      await m.close();
    }
  });

  it('a retry finishes what the steps of an earlier try left, counting the message once', async () => {
    const { m, keys } = await connect();
    try {
      const [a, b] = [await m.createUser('a'), await m.createUser('b')];
      const step = (script: LuaScript, k: string[], v: string[]) => script.run(backend.raw, k, v);
      // Cut short after step 1 (the hash stored), and after step 2 (delivered, neither
      // the conversation nor the sender's list written yet).
      const [stored, delivered] = [randomUUID(), randomUUID()];
      for (const id of [stored, delivered])
        await step(scripts.storeMessage, [keys.message(id)], [id, a, b, `text ${id}`]);
      const [, at] = (await step(
        scripts.deliverMessage,
        [keys.user(b), keys.inbox(b), keys.conversations(b), keys.unread(b), keys.unseen(b, a)],
        [delivered, a, b, `text ${delivered}`, keys.inboxChannel(b), ''],
      )) as [number, string];
      assert.deepEqual(await m.unreadCount(b), { total: 1, bySender: { [a]: 1 } });

      const retries = await Promise.all(
        [delivered, stored].map((id) => m.send(a, b, `text ${id}`, { messageId: id })),
      );
      assert.deepEqual(
        retries.map((sent) => sent.replayed),
        [true, true],
      );
      // Delivered before: its score, not a new one.
      assert.equal(retries[0]?.message.sentAt.getTime(), Math.floor(Number(at) * 1000));
      assert.deepEqual(await m.unreadCount(b), { total: 2, bySender: { [a]: 2 } });
      const inbox = await m.listUserMessages(b);
      assert.deepEqual(
        inbox.messages.map((message) => message.id).sort(),
        [stored, delivered].sort(),
      );
      for (const id of [stored, delivered]) {
        // Both in the conversation once, and the hash's time is the inbox score.
        assert.notEqual(await backend.raw.zScore(keys.conversation(a, b), messageMember(id)), null);
        const score = (await backend.raw.zScore(keys.inbox(b), messageMember(id))) ?? Number.NaN;
        assert.equal(await backend.raw.hGet(keys.message(id), 'timestamp'), score.toFixed(6));
      }
      assert.equal(await backend.raw.zCard(keys.conversation(a, b)), 2);
      const conversations = await m.listConversations(a);
      assert.deepEqual(
        conversations.map((c) => [c.with.id, c.lastMessage?.id]),
        [[b, inbox.messages.at(-1)?.id]],
      );
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
      // A retry of a delivered message rings nothing; one whose earlier try only stored
      // the hash (step 1) is delivered now, and rings both once.
      await m.send(a, b, 'first', { messageId: first.message.id });
      const early = randomUUID();
      await scripts.storeMessage.run(backend.raw, [keys.message(early)], [early, a, b, 'early']);
      await m.send(a, b, 'early', { messageId: early });
      await m.send(a, b, 'last');
      await eventually(() => inbox.length >= 3 && sent.length >= 3);
      await sleep(100);
      assert.deepEqual(inbox, ['first', 'early', 'last']);
      assert.deepEqual(sent, ['first', 'early', 'last']);
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
  /** How many TYPEs a node refused to run (a script's read of a key it does not serve). */
  const refusedTypes = (node: ClusterNode) =>
    infoCount(node, 'commandstats', /cmdstat_type:.*rejected_calls=(\d+)/);
  const evalShas = (node: ClusterNode) =>
    infoCount(node, 'commandstats', /cmdstat_evalsha:calls=(\d+)/);
  const migrating = async (slot: number, from: ClusterNode, to: ClusterNode) => {
    await ask(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id);
    await ask(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id);
  };
  /** Moves the slot's keys that are still on its old master and hands the slot over. */
  const finishMigrating = (slot: number) => moveSlot(cluster, slot);

  /** Two users whose keys and conversation one master (`home`) serves, with a messenger. */
  async function usersOnOneMaster() {
    const namespace = `one-node-migrating-${randomUUID()}`;
    const m = await RedisMessenger.connect({ cluster: [...cluster.urls], namespace });
    const keys = new Keys(namespace, 'cluster');
    for (let i = 0; i < 60; i++) {
      const [a, b] = [await m.createUser(`a${i}`), await m.createUser(`b${i}`)];
      const nodes = await Promise.all(
        [keys.user(a), keys.user(b), keys.conversation(a, b)].map((k) => cluster.nodeForKey(k)),
      );
      const home = nodes[0] as ClusterNode;
      if (nodes.every((node) => node === home)) {
        const other = cluster.nodes.find((node) => node !== home) as ClusterNode;
        /** A message id whose slot `home` serves too. */
        const idAtHome = async () => {
          let id = randomUUID();
          while ((await cluster.nodeForKey(keys.message(id))) !== home) id = randomUUID();
          return id;
        };
        return { m, keys, a, b, home, other, idAtHome };
      }
    }
    await m.close();
    throw new Error('no two users on one master in 60 tries');
  }

  it('a send whose message slot is migrating: the one script is not sent on (ASK), and its steps deliver it once', async () => {
    const { m, keys, a, b, home, other, idAtHome } = await usersOnOneMaster();
    try {
      const id = await idAtHome();
      const slot = keySlot(keys.message(id));
      await migrating(slot, home, other);
      // Where the slot is imported, a key not there yet reads as missing instead of
      // failing: the script must not run there (it could refuse a receiver who exists, or
      // start a second inbox). Only the steps' first one goes there, to store the hash.
      const [before, askedBefore] = [await evalShas(other), await asks(home)];
      const sent = await m.send(a, b, 'across a migration', { messageId: id });
      assert.equal((await evalShas(other)) - before, 1, 'one script on the importing master');
      // Two ASKs from the first master: the one script's (it was tried there), the steps'.
      assert.equal((await asks(home)) - askedBefore, 2, 'the one script tried first');
      assert.equal(sent.replayed, false);
      await finishMigrating(slot);
      assert.equal(await ask(other, 'EXISTS', keys.message(id)), 1, 'the hash on the new owner');
      const inbox = await m.listUserMessages(b);
      assert.deepEqual(
        inbox.messages.map((message) => [message.id, message.text]),
        [[id, 'across a migration']],
      );
      assert.deepEqual(await m.unreadCount(b), { total: 1, bySender: { [a]: 1 } });
      const again = await m.send(a, b, 'across a migration', { messageId: id });
      assert.equal(again.replayed, true);
      assert.equal((await m.listUserMessages(b)).messages.length, 1);
    } finally {
      await m.close();
    }
  });

  it("a send while the receiver's slot migrates, a key of it moved ahead: the one script writes nothing, and the steps deliver it once", async () => {
    const { m, keys, a, b, home, other, idAtHome } = await usersOnOneMaster();
    try {
      await m.send(a, b, 'before', { messageId: await idAtHome() });
      const slot = keySlot(keys.user(b));
      await migrating(slot, home, other);
      // The receiver's hash has gone ahead; the inbox and the counters have not.
      await ask(
        home,
        'MIGRATE',
        '127.0.0.1',
        String(other.port),
        '',
        '0',
        '5000',
        'KEYS',
        keys.user(b),
      );
      // The script's read of the receiver fails here (the key is elsewhere), before any
      // write: without reading every key first it would fail half done. The steps then
      // meet TRYAGAIN (the receiver's keys are split) until the slot has moved.
      const id = await idAtHome();
      const refusedBefore = await refusedTypes(home);
      const sending = m.send(a, b, 'during', { messageId: id });
      await sleep(200);
      // Meanwhile the script was tried (and retried with the send): its read of the
      // receiver refused. (After the move, a MOVED's nudge may be refused too: not yet.)
      assert.ok((await refusedTypes(home)) > refusedBefore, "the one script's read refused");
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
