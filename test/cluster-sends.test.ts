/**
 * A cluster send in 3 requests (the sender's check, delivery in the receiver's slot, the
 * sender's side in theirs): its hash and inbox entry share one time, raised past the
 * inbox's newest entry, and each user's copy of the conversation only grows at its end.
 * Its requests go straight to each key's master (redis/slot-router.ts): after a slot
 * moved, the first gets MOVED and follows it, and the next go to the new owner directly.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Keys } from '../src/core/keys.js';
import { scripts } from '../src/core/scripts.js';
import { RedisMessenger } from '../src/index.js';
import { keySlot } from '../src/redis/key-slot.js';
import { commandsDuring, startBackend } from './support/backends.js';
import { infoCount, moveSlot } from './support/move-slot.js';
import { type ClusterNode, startRedisCluster } from './support/redis-cluster.js';

let backend: Awaited<ReturnType<typeof startBackend>>;

before(async () => {
  backend = await startBackend('cluster');
});
after(async () => {
  await backend?.stop();
});

it("a send's hash and inbox entry have one time, and both copies of the conversation keep the order they grew in", async () => {
  const namespace = `cluster-sends-${randomUUID()}`;
  const m = await RedisMessenger.connect({ ...backend.target, namespace });
  const keys = new Keys(namespace, 'cluster');
  try {
    const [a, b] = [await m.createUser('a'), await m.createUser('b')];
    const sent = [];
    for (let i = 0; i < 20; i++) {
      const [from, to] = i % 3 === 0 ? [b, a] : [a, b];
      sent.push({ to, ...(await m.send(from, to, `message ${i}`)).message });
    }
    for (const message of sent) {
      const stamped = await backend.raw.hGet(keys.message(message.id, message.to), 'timestamp');
      const score = await backend.raw.zScore(
        keys.inbox(message.to),
        keys.messageMember(message.id, message.to),
      );
      assert.equal(stamped, (score ?? Number.NaN).toFixed(6));
      assert.equal(message.sentAt.getTime(), Math.floor(Number(stamped) * 1000));
    }
    for (const [user, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const copy = await backend.raw.zRangeWithScores(keys.conversation(user, other), 0, -1);
      assert.deepEqual(
        copy.map((entry) => entry.value),
        sent.map((message) => keys.messageMember(message.id, message.to)),
        'in the order sent',
      );
      const scores = copy.map((entry) => entry.score);
      assert.ok(
        scores.every((score, i) => i === 0 || score > (scores[i - 1] as number)),
        'strictly growing',
      );
    }
  } finally {
    await m.close();
  }
});

it('a send between users on two masters is three scripts', async () => {
  const namespace = `cluster-requests-${randomUUID()}`;
  const m = await RedisMessenger.connect({ ...backend.target, namespace });
  const keys = new Keys(namespace, 'cluster');
  try {
    let pair: [string, string] | undefined;
    for (let i = 0; i < 40 && !pair; i++) {
      const [a, b] = [await m.createUser(`a${i}`), await m.createUser(`b${i}`)];
      if (masterOf(keySlot(keys.user(a))) !== masterOf(keySlot(keys.user(b)))) pair = [a, b];
    }
    if (!pair) throw new Error('no two users on two masters in 40 tries');
    const [a, b] = pair;
    await m.send(a, b, 'warm');
    const used = await commandsDuring(backend, () => m.send(a, b, 'three requests'));
    // (commandstats count the commands the scripts ran too: none is sent alone.)
    assert.equal(used.evalsha, 3, JSON.stringify(used));
    assert.equal(used.hset, 1, 'the hash, written once');
  } finally {
    await m.close();
  }
});

function masterOf(slot: number): string {
  const client = backend.raw;
  if (!('getSlotMaster' in client)) throw new Error('not a cluster');
  return client.getSlotMaster(slot).address;
}

/** How many MOVED replies a node has sent (INFO errorstats). */
const movedReplies = (node: ClusterNode) =>
  infoCount(node, 'errorstats', /errorstat_MOVED:count=(\d+)/);

it('after a slot moves, sends follow MOVED once and then go to its new master directly', async () => {
  const cluster = await startRedisCluster();
  const namespace = `cluster-moved-${randomUUID()}`;
  const m = await RedisMessenger.connect({ cluster: [...cluster.urls], namespace });
  const keys = new Keys(namespace, 'cluster');
  try {
    const [a, b] = [await m.createUser('a'), await m.createUser('b')];
    await m.sendMessage(a, b, 'before the move');
    const slot = keySlot(keys.inbox(b));
    const from = await cluster.masterOf(slot);
    await moveSlot(cluster, slot);
    await cluster.waitForStable();
    const before = await movedReplies(from);
    for (let i = 0; i < 30; i++) await m.sendMessage(a, b, `after ${i}`);
    const moved = (await movedReplies(from)) - before;
    // One MOVED for the first send (delivery); the sender's slot did not move. The
    // cluster client, nudged, re-reads its map; a few more may race with that.
    assert.ok(moved >= 1, 'the old owner redirected the first send');
    assert.ok(moved <= 5, `${moved} MOVED replies for 30 sends`);
    assert.equal((await m.listUserMessages(b, { limit: 100 })).messages.length, 31);
    assert.deepEqual(await m.unreadCount(b), { total: 31, bySender: { [a]: 31 } });
  } finally {
    await m.close();
    await cluster.stop();
  }
});

it('after SCRIPT FLUSH on every master, sends go on: a NOSCRIPT reply is answered with the script itself', async () => {
  const namespace = `cluster-noscript-${randomUUID()}`;
  const m = await RedisMessenger.connect({ ...backend.target, namespace });
  try {
    const a = await m.createUser('a');
    const b = await m.createUser('b');
    await m.sendMessage(a, b, 'before the flush');
    await backend.eachMaster((node) => node.sendCommand(['SCRIPT', 'FLUSH']));
    const id = await m.sendMessage(a, b, 'after the flush');
    const page = await m.listUserMessages(b);
    assert.deepEqual(
      page.messages.map((message) => message.text),
      ['before the flush', 'after the flush'],
    );
    assert.equal(page.messages[1]?.id, id);
    // The scripts a send runs are cached again on the masters it went to: its steps', or
    // its one script's where one master serves all its slots.
    const shas = [scripts.deliverMessage.sha, scripts.sendOnOneNode.sha];
    const cached = await backend.eachMaster(
      (node) => node.sendCommand(['SCRIPT', 'EXISTS', ...shas]) as Promise<number[]>,
    );
    assert.ok(
      cached.some((exists) => exists.includes(1)),
      'no master has the script again',
    );
  } finally {
    await m.close();
  }
});
