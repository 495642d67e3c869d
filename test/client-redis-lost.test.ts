/**
 * The server loses Redis while a client listens live (src/server/live.ts: `paused`, then
 * `resumed` once caught up; src/client/live.ts turns them into onConnectionChange): the
 * socket stays open, the person is told it is not live, then live again, and a message
 * stored meanwhile arrives once. On a redis-server of this file's own (AOF always), killed
 * and restarted.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, it } from 'node:test';
import { WebSocket } from 'ws';
import { MessengerClient } from '../src/client/index.js';
import { type Message, RedisMessenger } from '../src/index.js';
import { createServer } from '../src/server/index.js';
import { startRedisServer } from './support/redis-server.js';
import { eventually } from './support/wait.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it('a live client is told when the server loses Redis and when it is back; nothing is lost', async () => {
  const redis = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
  cleanups.push(() => redis.stop());
  const messenger = await RedisMessenger.connect({ url: redis.url, commandTimeoutMs: 2000 });
  cleanups.push(() => messenger.close());
  const server = await createServer({ messenger, origins: ['http://chat.test'] });
  await server.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => server.close());
  const address = server.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const password = `pw ${randomUUID()}`;
  const bob = await MessengerClient.register(base, `b${randomUUID().slice(0, 8)}`, password, {
    WebSocket: WebSocket as never,
  });
  const alice = await messenger.createUser(`a${randomUUID().slice(0, 8)}`);
  const changes: [boolean, string?][] = [];
  const received: Message[] = [];
  const drops: Error[] = [];
  const live = await bob.subscribe((message) => void received.push(message), {
    onConnectionChange: (connected, why) => changes.push(why ? [connected, why] : [connected]),
    onError: (error) => drops.push(error),
    backoff: { firstMs: 20, maxMs: 200 },
  });
  cleanups.push(() => live.close());

  redis.signal('SIGKILL');
  await eventually(() => changes.length === 1, 10_000, 'the client to be told it is not live');
  assert.deepEqual(changes, [[false, 'paused']]);
  await redis.restart();
  await eventually(() => changes.length === 2, 20_000, 'the client to be told it is live again');
  assert.deepEqual(changes, [[false, 'paused'], [true]]);
  // The socket stayed open all along: the pause was the server's word, not a drop.
  assert.deepEqual(
    drops.map((error) => error.message),
    [],
  );

  const id = await messenger.sendMessage(alice, (await bob.me()).user.id, 'after the pause');
  await eventually(() => received.some((m) => m.id === id), 5000, 'the message to arrive');
  assert.equal(received.filter((m) => m.id === id).length, 1);
});
