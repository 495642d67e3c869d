/**
 * A cluster send in 6 requests: its inbox entry takes the time its message hash was
 * stored with, and only when the inbox already holds a newer entry is it raised past it,
 * the hash's time then set to match (one more request), so that every reader sees one time.
 * Its requests go straight to each key's master (redis/slot-router.ts): after a slot
 * moved, the first gets MOVED and follows it, and the next go to the new owner directly.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Keys, messageMember } from '../src/core/keys.js';
import { scripts } from '../src/core/scripts.js';
import { RedisMessenger } from '../src/index.js';
import { keySlot } from '../src/redis/key-slot.js';
import { startBackend } from './support/backends.js';
import { infoCount, moveSlot } from './support/move-slot.js';
import { type ClusterNode, startRedisCluster } from './support/redis-cluster.js';

let backend: Awaited<ReturnType<typeof startBackend>>;

before(async () => {
  backend = await startBackend('cluster');
});
after(async () => {
  await backend?.stop();
});

/** The message's time in its hash and its score in the inbox, as stored. */
async function times(keys: Keys, receiver: string, id: string): Promise<[string, string]> {
  const stamped = (await backend.raw.hGet(keys.message(id), 'timestamp')) ?? '';
  const score = await backend.raw.zScore(keys.inbox(receiver), messageMember(id));
  return [stamped, (score ?? Number.NaN).toFixed(6)];
}

it("a send's inbox entry has its hash's time, and when raised past a newer entry the hash follows", async () => {
  const namespace = `cluster-sends-${randomUUID()}`;
  const m = await RedisMessenger.connect({ ...backend.target, namespace });
  const keys = new Keys(namespace, 'cluster');
  try {
    const [a, b] = [await m.createUser('a'), await m.createUser('b')];
    const first = await m.send(a, b, 'first');
    const [stamped, score] = await times(keys, b, first.message.id);
    assert.equal(stamped, score);

    // A send cut short after step 1 keeps its hash's time; a newer message then arrives.
    const early = randomUUID();
    await scripts.storeMessage.run(backend.raw, [keys.message(early)], [early, a, b, 'early']);
    const [storedAt] = await times(keys, b, early);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const newer = await m.send(a, b, 'newer');
    // Its retry cannot go before 'newer' (a reader may have passed it): it is raised.
    const retried = await m.send(a, b, 'early', { messageId: early });
    const [raisedStamp, raisedScore] = await times(keys, b, early);
    assert.ok(Number(raisedScore) > Number(storedAt), `${raisedScore} after ${storedAt}`);
    assert.ok(Number(raisedScore) > newer.message.sentAt.getTime() / 1000);
    assert.equal(raisedStamp, raisedScore);
    assert.equal(retried.message.sentAt.getTime(), Math.floor(Number(raisedScore) * 1000));
    const page = await m.listUserMessages(b);
    assert.deepEqual(
      page.messages.map((message) => [message.text, message.sentAt.getTime()]),
      [first, newer, retried].map(({ message }) => [message.text, message.sentAt.getTime()]),
    );
  } finally {
    await m.close();
  }
});

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
    // One MOVED for the first send (deliver); its other steps' slots did not move. The
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
