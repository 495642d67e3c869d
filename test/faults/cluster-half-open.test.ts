/**
 * On a Redis Cluster, a connection that stops answering but stays open is noticed and
 * replaced within a few seconds: the cluster client's connection to each master, which
 * carries the writes sent straight to it (redis/slot-router.ts), the reads and the
 * sharded subscriptions.
 * The cluster's one master announces the port of a proxy in front of it, so that every
 * connection to it, whoever opens it, crosses the proxy; then the proxy falls silent.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { createClient } from 'redis';
import { RedisMessenger } from '../../src/index.js';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.js';
import { type SilentProxy, startSilentProxy } from '../support/silent-proxy.js';
import { eventually, retryUnconfirmed } from '../support/wait.js';

let cluster: RedisCluster;
let proxy: SilentProxy;

before(async () => {
  cluster = await startRedisCluster({ masters: 1 });
  const [node] = cluster.nodes;
  if (!node) throw new Error('no node');
  proxy = await startSilentProxy(node.port);
  const admin = createClient({ url: node.url });
  await admin.connect();
  await admin.configSet('cluster-announce-port', new URL(proxy.url).port);
  await admin.close();
});
after(async () => {
  await proxy?.close();
  await cluster?.stop();
});

it('a silent connection to a master is replaced: sends, reads and live delivery recover within a few seconds', async (t) => {
  const namespace = `half-open-${randomUUID()}`;
  const m = await RedisMessenger.connect({
    cluster: [proxy.url],
    namespace,
    commandTimeoutMs: 1000,
  });
  try {
    const [a, b] = [await m.createUser('a'), await m.createUser('b')];
    const received: string[] = [];
    const changes: boolean[] = [];
    await m.subscribe(b, (message) => void received.push(message.text), {
      onConnectionChange: (connected) => changes.push(connected),
    });
    await m.sendMessage(a, b, 'before');
    await eventually(() => received.length === 1, 5000, 'the first message');

    proxy.silence();
    const silencedAt = Date.now();
    const messageId = randomUUID();
    await retryUnconfirmed(() => m.sendMessage(a, b, 'after', { messageId }), 10_000, 100);
    const sendMs = Date.now() - silencedAt;
    await retryUnconfirmed(() => m.unreadCount(b), 10_000, 100);
    const readMs = Date.now() - silencedAt;
    await eventually(() => received.length === 2, 10_000, 'the message sent after the silence');
    const deliveredMs = Date.now() - silencedAt;
    t.diagnostic(
      `cluster half-open: sends recovered ${sendMs} ms after the silence, reads ${readMs} ms, live delivery ${deliveredMs} ms; connection changes ${changes.join(',')}`,
    );
    assert.deepEqual(received, ['before', 'after']);
    assert.deepEqual(await m.unreadCount(b), { total: 2, bySender: { [a]: 2 } });
    assert.ok(changes.includes(false) && changes.at(-1) === true, `connection changes: ${changes}`);
    assert.ok(sendMs < 8000, `sends recovered after ${sendMs} ms`);
    assert.ok(readMs < 8000, `reads recovered after ${readMs} ms`);
    assert.ok(deliveredMs < 8000, `live delivery recovered after ${deliveredMs} ms`);
  } finally {
    await m.close();
  }
});
