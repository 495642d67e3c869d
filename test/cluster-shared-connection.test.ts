/**
 * On a cluster the shared subscriber's sharded subscriptions ride on the connections that
 * carry commands (redis/subscriber.ts). When resharding moves a slot, its old owner ends
 * the subscriptions of the slot's channels, each with a SUNSUBSCRIBE push, whenever it
 * likes: here while a command waits for its reply on that connection. node-redis takes
 * such a push for the reply to a SUNSUBSCRIBE of its own while anything is waiting, so the
 * subscriber must see these first: else the waiting command is answered with nothing, the
 * replies after it go to the wrong commands, and the channels are not followed.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createClient } from 'redis';
import { openCluster, type RedisClient, type RedisCluster } from '../src/redis/connect.js';
import { keySlot } from '../src/redis/key-slot.js';
import { ShardedSubscriber } from '../src/redis/subscriber.js';
import {
  type ClusterNode,
  startRedisCluster,
  type RedisCluster as TestCluster,
} from './support/redis-cluster.js';
import { eventually } from './support/wait.js';

let cluster: TestCluster;

async function admin(node: ClusterNode): Promise<RedisClient> {
  const client: RedisClient = createClient({ url: node.url });
  await client.connect();
  return client;
}
before(async () => {
  cluster = await startRedisCluster({ masters: 3 });
});
after(async () => {
  await cluster?.stop();
});

it('a slot moved while a command waits on the connection: the command gets its own reply, the channels follow', async () => {
  const client: RedisCluster = await openCluster({
    urls: [...cluster.urls],
    connectTimeoutMs: 5000,
  });
  const subscriber = new ShardedSubscriber(client);
  try {
    // Two channels in one slot, the only channels on its master's connection.
    const channels = ['{moving}:a', '{moving}:b'];
    const slot = keySlot(channels[0] as string);
    const heard: string[] = [];
    let ready = 0;
    const listenings = await Promise.all(
      channels.map((channel) =>
        subscriber.listen(channel, {
          message: (raw) => void heard.push(`${channel} ${raw}`),
          lost: () => {},
          ready: () => void ready++,
        }),
      ),
    );
    // A key in another slot of the same master, for a command that waits there.
    const owner = client.getSlotMaster(slot).address;
    let key = '';
    for (let i = 0; !key; i++) {
      const candidate = `{waiting-${i}}`;
      if (keySlot(candidate) !== slot && client.getSlotMaster(keySlot(candidate)).address === owner)
        key = candidate;
    }
    const connection = (await client.nodeClient(client.getSlotMaster(slot))) as RedisClient;
    // Resharding with the slot empty, by hand, so that the old owner's last step (which
    // ends the subscriptions) comes while BLPOP waits on the connection (for 1 s: the
    // connection's watch would take a longer silence for a dead link).
    const admins = await Promise.all(cluster.nodes.map(admin));
    const [from, to] = await Promise.all([
      cluster.masterOf(slot),
      cluster.nodes.find((n) => n.role === 'master' && n.port !== Number(owner.split(':')[1])),
    ]);
    assert.ok(from && to && from !== to);
    const on = (node: ClusterNode, ...command: string[]) =>
      (admins[cluster.nodes.indexOf(node)] as RedisClient).sendCommand(command);
    await on(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id);
    await on(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id);
    for (const node of cluster.nodes.filter((n) => n.role === 'master' && n !== from))
      await on(node, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
    const waiting = connection.sendCommand(['BLPOP', key, '1']);
    await on(from, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
    assert.equal(await waiting, null, 'the waiting command got its own reply (BLPOP timed out)');
    assert.equal(
      await connection.sendCommand(['PING']),
      'PONG',
      'replies still go to their commands',
    );
    await Promise.all(admins.map((a) => a.close()));
    await cluster.waitForStable();
    // The channels follow their slot to its new master.
    await eventually(() => ready >= 2, 10_000, 'both channels subscribed again');
    assert.ok(listenings.every((listening) => listening.isReady));
    await Promise.all(channels.map((channel) => client.sPublish(channel, 'after the move')));
    await eventually(() => heard.length === 2, 5000, 'both channels to hear the message');
    assert.deepEqual(
      heard.sort(),
      channels.map((channel) => `${channel} after the move`),
    );
  } finally {
    await subscriber.close();
    await client.close();
  }
});
