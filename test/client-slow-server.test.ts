/**
 * The client against a server slower than its wait for `ready`: the wait grows with each
 * connection that failed, so a client gets back in rather than giving up on every socket
 * at the same point (what 10,000 clients of a server working through their reconnections
 * at once did in the server bench). Two real servers on one Redis behind a TCP proxy;
 * the second reaches Redis through a proxy that delays every byte, so each of the round
 * trips before its `ready` costs a tenth of a second.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { WebSocket } from 'ws';
import { MessengerClient } from '../src/client/index.js';
import { RedisMessenger } from '../src/index.js';
import { createServer, type Server } from '../src/server/index.js';
import { type LatencyProxy, startLatencyProxy } from './support/latency-proxy.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { openLive } from './support/serve-process.js';
import { type SwitchProxy, startSwitchProxy } from './support/switch-proxy.js';
import { eventually } from './support/wait.js';

const PASSWORD = 'correct horse battery staple';

let redis: RedisServer;
let slowRedis: LatencyProxy;
const messengers: RedisMessenger[] = [];
const servers: Server[] = [];
let proxy: SwitchProxy;
let fastPort: number;
let slowPort: number;

async function serverOn(url: string): Promise<number> {
  const messenger = await RedisMessenger.connect({ url });
  messengers.push(messenger);
  const server = await createServer({
    messenger,
    origins: ['http://chat.test'],
    rateLimits: false,
  });
  servers.push(server);
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

before(async () => {
  redis = await startRedisServer();
  slowRedis = await startLatencyProxy(Number(new URL(redis.url).port), 50);
  fastPort = await serverOn(redis.url);
  slowPort = await serverOn(slowRedis.url);
  proxy = await startSwitchProxy(fastPort);
});
after(async () => {
  for (const server of servers) await server.close();
  for (const messenger of messengers) await messenger.close();
  await proxy?.close();
  await slowRedis?.close();
  await redis?.stop();
});

it('a server slower than the wait for ready: the wait grows with each try, and the client gets back in', async () => {
  const username = `u${randomUUID().slice(0, 8)}`;
  const bob = await MessengerClient.register(proxy.url, username, PASSWORD, { WebSocket });
  const alice = await MessengerClient.register(proxy.url, `a${username}`, PASSWORD, {
    WebSocket,
  });
  // How long the slow server takes to say ready, as it is on this machine now: the client's
  // first wait is a quarter of it, so its first try back fails for sure (a half), and the
  // wait, doubling, passes it by the third (twice).
  const probe = await openLive(`http://127.0.0.1:${slowPort}`, bob.token as string);
  const asked = performance.now();
  probe.hello(null);
  await eventually(() => probe.frames.some((f) => f.type === 'ready'), 15_000, 'ready');
  const readyMs = performance.now() - asked;
  probe.socket.close();
  let failures: string[] = [];
  const received: string[] = [];
  const subscribe = () =>
    bob.subscribe((message) => void received.push(message.text), {
      readyWithinMs: readyMs / 4,
      backoff: { firstMs: 10, maxMs: 50 },
      onError: (error) => failures.push(error.message),
    });
  // The first ready comes from the fast server, within that short wait unless the machine
  // is busy (once, at load 7, it was not): then subscribing again is what any caller does.
  let subscription: Awaited<ReturnType<typeof subscribe>> | undefined;
  for (let attempt = 1; !subscription; attempt++) {
    failures = [];
    subscription = await subscribe().catch((error: Error) => {
      if (attempt === 5 || error.message !== 'the server did not say ready in time') throw error;
      return undefined;
    });
  }
  try {
    proxy.switchTo(slowPort);
    proxy.cut(); // every socket dropped: the client reconnects, now to the slow server
    proxy.heal();
    await eventually(() => !subscription.connected, 5000, 'the drop to be seen');
    await alice.sendMessage(username, 'sent while reconnecting');
    await eventually(() => subscription.connected, 15_000, 'the subscription to be back');
    await eventually(() => received.length === 1, 5000, 'the message sent meanwhile');
    assert.deepEqual(received, ['sent while reconnecting']);
    const late = failures.filter((why) => why === 'the server did not say ready in time');
    assert.ok(late.length >= 1, `the slow server made a try fail: ${failures.join('; ')}`);
    assert.ok(late.length <= 3, `ready ${Math.round(readyMs)} ms: ${late.length} tries too short`);
  } finally {
    await subscription.close();
  }
});
