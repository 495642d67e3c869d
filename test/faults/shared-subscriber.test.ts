/**
 * Fault: the shared subscriber on a Redis Cluster under load. One messenger holds two
 * subscriptions for each of 24 receivers spread over 3 masters (one connection per
 * master), while 4 senders send to all of them, each send retried with its id until
 * acknowledged. Then:
 * - a master is killed (SIGKILL) and its replica promoted: its connection is retired and
 *   its channels follow their slots to the new master;
 * - a receiver's slot is migrated to another master (as resharding does): Redis ends that
 *   channel's subscription and it alone follows the slot.
 * Judged: once the load stops, every subscription has delivered exactly its receiver's
 * inbox, in order, once each; and the subscriber holds at most one connection per master.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it, type TestContext } from 'node:test';
import { createClient } from 'redis';
import { Keys } from '../../src/core/keys.js';
import {
  isUnconfirmed,
  RedisMessenger as Messenger,
  type RedisMessenger,
} from '../../src/index.js';
import { moveSlot } from '../support/move-slot.js';
import { keySlot, type RedisCluster, startRedisCluster } from '../support/redis-cluster.js';
import { eventually } from '../support/wait.js';
import { report, sleep } from './support/faults.js';

const RECEIVERS = 24;
const SUBSCRIPTIONS_EACH = 2;
const LOAD_MS = 6000;

it('a master killed under load: every shared subscription delivers its whole inbox, once, in order', {
  timeout: 120_000,
}, async (t) => {
  await underLoad(t, 'failover', async (cluster, slotOfReceiver) => {
    const victim = await cluster.masterOf(slotOfReceiver);
    victim.signal('SIGKILL');
    await eventually(() => !victim.alive, 2000, 'the killed master to exit');
    await cluster.waitForStable(20_000);
  });
});

it('a slot migrated under load: every shared subscription delivers its whole inbox, once, in order', {
  timeout: 120_000,
}, async (t) => {
  await underLoad(t, 'slot migration', async (cluster, slot) => {
    await moveSlot(cluster, slot);
  });
});

async function underLoad(
  t: TestContext,
  label: string,
  fault: (cluster: RedisCluster, slotOfReceiver: number) => Promise<void>,
): Promise<void> {
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  const messengers: RedisMessenger[] = [];
  try {
    const namespace = `shared-${randomUUID()}`;
    const keys = new Keys(namespace, 'cluster');
    const connect = async () => {
      const m = await Messenger.connect({
        cluster: [...cluster.urls],
        namespace,
        commandTimeoutMs: 2000,
      });
      messengers.push(m);
      return m;
    };
    const sending = await connect();
    const watching = await connect();
    const receivers = await Promise.all(
      Array.from({ length: RECEIVERS }, (_, i) => sending.createUser(`r${i}`)),
    );
    const senders = await Promise.all(
      Array.from({ length: 4 }, (_, i) => sending.createUser(`s${i}`)),
    );
    const masters = new Set(
      await Promise.all(
        receivers.map(async (r) => (await cluster.masterOf(keySlot(keys.inbox(r)))).port),
      ),
    );
    assert.equal(masters.size, 3, 'receivers on every master');
    await sleep(1500); // the replicas have the users before a failover

    const delivered = new Map<string, string[][]>();
    for (const receiver of receivers) {
      const lists: string[][] = [];
      delivered.set(receiver, lists);
      for (let k = 0; k < SUBSCRIPTIONS_EACH; k++) {
        const ids: string[] = [];
        lists.push(ids);
        await watching.subscribe(receiver, (message) => void ids.push(message.id));
      }
    }
    const held = await subscriberConnections(cluster);
    assert.ok(
      held <= 3,
      `${held} pub/sub connections for ${RECEIVERS * SUBSCRIPTIONS_EACH} subscriptions`,
    );

    let stopping = false;
    let acknowledged = 0;
    const load = Promise.all(
      senders.map(async (sender, s) => {
        for (let n = 0; !stopping; n++) {
          const receiver = receivers[(n * 7 + s) % receivers.length] as string;
          const messageId = randomUUID();
          for (const started = Date.now(); Date.now() - started < 30_000; ) {
            try {
              await sending.sendMessage(sender, receiver, `${s}:${n}`, { messageId });
              acknowledged++;
              break;
            } catch (error) {
              if (!isUnconfirmed(error)) throw error;
              await sleep(50);
            }
          }
        }
      }),
    );
    await sleep(1000);
    const faultStarted = Date.now();
    let faultMs = 0;
    try {
      await fault(cluster, keySlot(keys.inbox(receivers[0] as string)));
      faultMs = Date.now() - faultStarted;
      await sleep(Math.max(0, LOAD_MS - faultMs));
    } finally {
      stopping = true;
      await load;
    }

    const inboxes = new Map<string, string[]>();
    for (const receiver of receivers) inboxes.set(receiver, await wholeInbox(sending, receiver));
    const caughtUp = () =>
      receivers.every((r) =>
        delivered.get(r)?.every((ids) => ids.length >= (inboxes.get(r)?.length ?? 0)),
      );
    const waitedFrom = Date.now();
    await eventually(caughtUp, 20_000, 'every subscription to catch up').catch(() => {});
    let wrong = 0;
    for (const receiver of receivers) {
      for (const ids of delivered.get(receiver) ?? []) {
        if (JSON.stringify(ids) !== JSON.stringify(inboxes.get(receiver))) wrong++;
      }
    }
    const after = await subscriberConnections(cluster);
    report(
      t,
      `shared subscriber, ${label} under load: ${acknowledged} sends acknowledged to ${RECEIVERS} receivers; ${RECEIVERS * SUBSCRIPTIONS_EACH} subscriptions on ${held} pub/sub connections before, ${after} after; the fault took ${faultMs} ms; caught up ${Date.now() - waitedFrom} ms after the load stopped; subscriptions not exactly their inbox: ${wrong}`,
    );
    assert.ok(acknowledged > RECEIVERS * 10, `only ${acknowledged} sends acknowledged`);
    assert.equal(wrong, 0, 'subscriptions that missed, repeated or reordered a message');
    assert.ok(after <= 3, `${after} pub/sub connections after the fault`);
  } finally {
    await Promise.allSettled(messengers.map((m) => m.close()));
    await cluster.stop();
  }
}

/** Pub/sub connections over every live master. */
async function subscriberConnections(cluster: RedisCluster): Promise<number> {
  let total = 0;
  for (const node of cluster.nodes.filter((n) => n.alive)) {
    const client = createClient({ url: node.url });
    await client.connect();
    try {
      const list = String(await client.sendCommand(['CLIENT', 'LIST', 'TYPE', 'pubsub']));
      total += list.split('\n').filter((line) => line.trim() !== '').length;
    } finally {
      client.destroy();
    }
  }
  return total;
}

/** Every message id of a user's inbox, oldest first, paging back from the newest. */
async function wholeInbox(m: RedisMessenger, user: string): Promise<string[]> {
  const ids: string[] = [];
  let page = await m.listUserMessages(user, { limit: 100 });
  ids.unshift(...page.messages.map((x) => x.id));
  while (page.hasOlder && page.messages[0]) {
    page = await m.listUserMessages(user, { limit: 100, before: page.messages[0].id });
    ids.unshift(...page.messages.map((x) => x.id));
  }
  return ids;
}
