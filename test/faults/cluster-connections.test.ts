/**
 * How many Redis connections one messenger holds on a 3-master Redis Cluster with many
 * live subscriptions of several users, counted on the Redis side (CLIENT LIST on every
 * master: every client connection but the test's own probe, so nothing of the
 * messenger's can hide): at most masters + 2, however many subscriptions (issue 9). The
 * code before held 9: the cluster client's connection to each master, the slot router's
 * and the subscriber's.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { createClient, type RedisClientType } from 'redis';
import { RedisMessenger } from '../../src/index.js';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.js';
import { eventually } from '../support/wait.js';

let cluster: RedisCluster;
let probes: RedisClientType[];

before(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  probes = await Promise.all(
    cluster.nodes.map(async (node) => {
      const client: RedisClientType = createClient({ url: node.url });
      await client.connect();
      return client;
    }),
  );
});
after(async () => {
  await Promise.all((probes ?? []).map((probe) => probe.close()));
  await cluster?.stop();
});

/** The client connections every master holds, but the probe's own, one line of CLIENT LIST each. */
async function clientLines(): Promise<string[]> {
  const lists = await Promise.all(
    probes.map(async (probe) => {
      const own = await probe.clientId();
      const list = String(await probe.sendCommand(['CLIENT', 'LIST', 'TYPE', 'normal']));
      const pubsub = String(await probe.sendCommand(['CLIENT', 'LIST', 'TYPE', 'pubsub']));
      return `${list}\n${pubsub}`
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.startsWith(`id=${own} `));
    }),
  );
  return lists.flat();
}

it('10,000 subscriptions of 100 users on a 3-master cluster hold at most masters + 2 connections', async (t) => {
  const m = await RedisMessenger.connect({
    cluster: [...cluster.urls],
    namespace: `connections-${randomUUID()}`,
  });
  try {
    const users = await Promise.all(
      Array.from({ length: 100 }, (_, i) => m.createUser(`c${i}-${randomUUID().slice(0, 8)}`)),
    );
    const received = new Set<string>();
    const subscriptions = [];
    for (let i = 0; i < 10_000; i += 500) {
      subscriptions.push(
        ...(await Promise.all(
          Array.from({ length: 500 }, (_, j) =>
            m.subscribe(users[(i + j) % users.length] as string, (message) => {
              received.add(`${i + j}:${message.id}`);
            }),
          ),
        )),
      );
    }
    // Every kind of traffic once: sends, pages, unread counts.
    await Promise.all(
      users.map((user, i) => m.sendMessage(users[(i + 1) % 100] as string, user, `hi ${i}`)),
    );
    await eventually(
      () => received.size === 10_000,
      10_000,
      'every subscription to hear its message',
    );
    const lines = await clientLines();
    t.diagnostic(`${lines.length} connections from the messenger`);
    const masters = 3;
    assert.ok(lines.length <= masters + 2, `${lines.length} connections:\n${lines.join('\n')}`);
    await Promise.all(subscriptions.map((s) => s.close()));
  } finally {
    await m.close();
  }
});
