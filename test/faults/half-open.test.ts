/**
 * A connection that stops answering but stays open (a host gone, a NAT that drops the
 * flow silently) is noticed and replaced within a few seconds, for commands and for
 * subscriptions alike, and the subscription says so (onConnectionChange).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { RedisMessenger } from '../../src/index.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { type SilentProxy, startSilentProxy } from '../support/silent-proxy.js';
import { eventually, retryUnconfirmed } from '../support/wait.js';

let server: RedisServer;
let proxy: SilentProxy;

before(async () => {
  server = await startRedisServer();
  proxy = await startSilentProxy(Number(new URL(server.url).port));
});
after(async () => {
  await proxy?.close();
  await server?.stop();
});

it('a silent connection is replaced: calls and live delivery recover within a few seconds', async (t) => {
  const namespace = `half-open-${randomUUID()}`;
  const m = await RedisMessenger.connect({ url: proxy.url, namespace, commandTimeoutMs: 1000 });
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
    // Retried as a careful caller would (the same id) while calls time out.
    await retryUnconfirmed(() => m.sendMessage(a, b, 'after', { messageId }), 10_000, 100);
    const recoveredMs = Date.now() - silencedAt;
    await eventually(() => received.length === 2, 10_000, 'the message sent after the silence');
    const deliveredMs = Date.now() - silencedAt;
    t.diagnostic(
      `half-open: calls recovered ${recoveredMs} ms after the silence, live delivery ${deliveredMs} ms; connection changes ${changes.join(',')}`,
    );
    assert.deepEqual(received, ['before', 'after']);
    assert.ok(changes.includes(false) && changes.at(-1) === true, `connection changes: ${changes}`);
    assert.ok(recoveredMs < 8000, `calls recovered after ${recoveredMs} ms`);
    assert.ok(deliveredMs < 8000, `live delivery recovered after ${deliveredMs} ms`);
  } finally {
    await m.close();
  }
});
