/**
 * A Redis Cluster whose nodes fail, pause or move slots under a connected messenger
 * (AOF on): closing does not wait for a node that does not answer, live delivery and
 * sends follow a slot that moves (ASK followed, TRYAGAIN waited out), calls time out
 * instead of hanging, and a send reported as failed is not stored later. Moved from
 * test/cluster.test.ts to the fault tests.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Keys } from '../../src/core/keys.js';
import {
  isUnconfirmed,
  RedisMessenger as Messenger,
  type RedisMessenger,
  RedisTimeoutError,
} from '../../src/index.js';
import { keySlot } from '../../src/redis/key-slot.js';
import { moveSlot as moveSlotOf } from '../support/move-slot.js';
import {
  type ClusterNode,
  type RedisCluster,
  startRedisCluster,
} from '../support/redis-cluster.js';
import { eventually, sleep, within } from '../support/wait.js';

describe('when a cluster node fails under a connected messenger', () => {
  let durable: RedisCluster;
  before(async () => {
    durable = await startRedisCluster({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  });
  after(async () => {
    await durable?.stop();
  });

  async function setUpOn(options: { commandTimeoutMs: number }) {
    const namespace = `failing-${randomUUID()}`;
    const m = await Messenger.connect({ cluster: [...durable.urls], namespace, ...options });
    const keys = new Keys(namespace, 'cluster');
    return { m, keys, namespace, a: await m.createUser('a'), b: await m.createUser('b') };
  }

  const moveSlot = async (slot: number, meanwhile?: (to: ClusterNode) => Promise<void>) => {
    await moveSlotOf(durable, slot, { meanwhile });
  };

  it('closing a subscription does not wait for a move to a node that does not answer', async () => {
    const { m, keys, namespace, b } = await setUpOn({ commandTimeoutMs: 2000 });
    const listener = await Messenger.connect({ cluster: [...durable.urls], namespace });
    try {
      const subscription = await listener.subscribe(b, () => {});
      await moveSlot(keySlot(keys.inbox(b)), async (to) => {
        to.signal('SIGSTOP'); // the doorbell follows the slot to a node that is silent
        try {
          await new Promise((resolve) => setTimeout(resolve, 500));
          const started = Date.now();
          await within(5000, subscription.close(), 'closing the subscription');
          assert.ok(Date.now() - started < 2500, `close took ${Date.now() - started} ms`);
        } finally {
          to.signal('SIGCONT');
        }
      });
    } finally {
      await listener.close();
      await m.close();
    }
  });

  it('live delivery follows the inbox when its slot moves to another master', async () => {
    const { m, keys, namespace, a, b } = await setUpOn({ commandTimeoutMs: 2000 });
    // The listener has a messenger of its own, which nothing else uses: no command of
    // its own would tell its cluster client that the slot moved.
    const listener = await Messenger.connect({ cluster: [...durable.urls], namespace });
    try {
      const received: string[] = [];
      const changes: boolean[] = [];
      await listener.subscribe(b, (message) => void received.push(message.text), {
        onConnectionChange: (connected) => changes.push(connected),
      });
      await m.sendMessage(a, b, 'before the move');
      await eventually(() => received.length === 1, 5000, 'the first message');
      await moveSlot(keySlot(keys.inbox(b)));
      await m.sendMessage(a, b, 'after the move');
      await eventually(() => received.length === 2, 5000, 'the message after the move');
      assert.deepEqual(received, ['before the move', 'after the move']);
      assert.deepEqual(changes, [false, true]);
    } finally {
      await listener.close();
      await m.close();
    }
  });

  it("sends go on while the receiver's slot migrates: ASK followed, TRYAGAIN waited out", async () => {
    const { m, keys, a, b } = await setUpOn({ commandTimeoutMs: 5000 });
    try {
      const senders = [a];
      for (let i = 0; i < 5; i++) senders.push(await m.createUser(`sender${i}`));
      const slot = keySlot(keys.inbox(b));
      const acknowledged: string[] = [];
      const failures: string[] = [];
      let sending = true;
      // Each sender starts at its own moment, so that some first sends (a key of the
      // receiver's slot that does not exist yet) fall inside the migration.
      const loops = senders.map(async (sender, i) => {
        await sleep(150 * i);
        for (let n = 0; sending; n++) {
          try {
            acknowledged.push(await m.sendMessage(sender, b, `${i}.${n}`));
          } catch (error) {
            failures.push(String(error));
            await sleep(20);
          }
        }
      });
      await sleep(100);
      const to = await moveSlotOf(durable, slot, { pauseMs: 500 });
      await sleep(300);
      sending = false;
      await Promise.all(loops);
      await durable.waitForStable();
      assert.deepEqual(failures.slice(0, 3), [], `${failures.length} sends failed`);
      assert.equal((await durable.masterOf(slot)).port, to.port, 'the slot moved');
      assert.ok(acknowledged.length > 50, `only ${acknowledged.length} sends`);
      const inbox = new Set<string>();
      let page = await m.listUserMessages(b, { limit: 200 });
      for (let round = 0; round < 100; round++) {
        for (const message of page.messages) inbox.add(message.id);
        if (!page.hasOlder) break;
        page = await m.listUserMessages(b, { limit: 200, before: page.messages[0]?.id });
      }
      assert.deepEqual(
        acknowledged.filter((id) => !inbox.has(id)),
        [],
      );
      assert.equal((await m.unreadCount(b)).total, acknowledged.length);
    } finally {
      await m.close();
    }
  });

  it('a paused node makes calls time out instead of hanging; work resumes after', async () => {
    const { m, keys, a, b } = await setUpOn({ commandTimeoutMs: 300 });
    const node = await durable.nodeForKey(keys.inbox(b));
    try {
      node.signal('SIGSTOP');
      const started = Date.now();
      const error = await m.listUserMessages(b).catch((e: unknown) => e);
      assert.ok(error instanceof RedisTimeoutError, String(error));
      assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
      // Short of the node timeout (1 s): the cluster does not mark the node failed.
      node.signal('SIGCONT');
      await m.sendMessage(a, b, 'after the pause');
      assert.deepEqual(
        (await m.listUserMessages(b)).messages.map((x) => x.text),
        ['after the pause'],
      );
    } finally {
      node.signal('SIGCONT');
      await m.close();
    }
  });

  it('a send reported as failed is not stored later, when the node comes back', async () => {
    const { m, keys, a, b } = await setUpOn({ commandTimeoutMs: 500 });
    try {
      const node = await durable.nodeForKey(keys.inbox(b));
      node.signal('SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      const error = await m.sendMessage(a, b, 'I was told this failed').catch((e: unknown) => e);
      assert.ok(isUnconfirmed(error), String(error));
      await node.restart();
      await durable.waitForStable();
      let page: Awaited<ReturnType<RedisMessenger['listUserMessages']>> | undefined;
      for (let i = 0; i < 100 && !page; i++) {
        page = await m.listUserMessages(b).catch(() => undefined);
        if (!page) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(page, 'the messenger never got the node back');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual((await m.listUserMessages(b)).messages, []);
      await m.sendMessage(a, b, 'after the restart');
      assert.deepEqual(
        (await m.listUserMessages(b)).messages.map((x) => x.text),
        ['after the restart'],
      );
    } finally {
      await m.close();
    }
  });
});
