/**
 * What a security review of the server found, each fixed and kept fixed (on one Redis:
 * none of it depends on the backend): an Upgrade header on an ordinary request does not
 * escape the per-user limits; a forged cookie request spends none of the victim's
 * limits; the addresses of one IPv6 /64 share a limit; a logout between a socket's
 * upgrade and its hello closes it; a cursor that is no id closes with 4002; a flood of
 * password checks is refused at once past a bounded queue; bad data in Redis is no
 * client's to read.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { WebSocket } from 'ws';
import { Keys } from '../src/core/keys.js';
import { RedisMessenger as Messenger, type RedisMessenger } from '../src/index.js';
import { createServer, hashPassword, type Server } from '../src/server/index.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { api, liveClient, openLive } from './support/serve-process.js';
import { eventually, within } from './support/wait.js';

const ORIGIN = 'http://chat.test';
const PASSWORD = 'correct horse battery staple';

let redis: RedisServer;
const open: { server: Server; messenger: RedisMessenger }[] = [];

before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  for (const { server, messenger } of open) {
    await server.close();
    await messenger.close();
  }
  await redis?.stop();
});

async function serverWith(rateLimits: Record<string, number> | false = {}) {
  const namespace = `review-${randomUUID()}`;
  const messenger = await Messenger.connect({ url: redis.url, namespace });
  const server = await createServer({
    messenger,
    origins: [ORIGIN],
    rateLimits:
      rateLimits === false
        ? false
        : { registrationsPerAddressPerHour: 100, requestsPerAddressPerMinute: 1000, ...rateLimits },
  });
  open.push({ server, messenger });
  return { server, messenger, keys: new Keys(namespace) };
}

async function register(server: Server, from = '192.0.2.7') {
  const username = `u${randomUUID().slice(0, 8)}`;
  const reply = await server.inject({
    method: 'POST',
    url: '/api/v1/register',
    remoteAddress: from,
    payload: { username, password: PASSWORD },
  });
  assert.equal(reply.statusCode, 201, reply.body);
  const { user, token } = reply.json();
  return { username, id: user.id as string, token: token as string, cookie: reply.cookies[0] };
}

it('an Upgrade header on an ordinary request is limited as the request it is', async () => {
  const { server } = await serverWith({ sendBurst: 2, sendsPerSecond: 0.001 });
  const alice = await register(server);
  const bob = await register(server);
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const reply = await server.inject({
      method: 'POST',
      url: '/api/v1/messages',
      headers: { authorization: `Bearer ${alice.token}`, upgrade: 'websocket' },
      payload: { to: bob.username, text: `m${i}` },
    });
    statuses.push(reply.statusCode);
  }
  assert.deepEqual(statuses, [201, 201, 429, 429]);
});

it("a forged cookie request spends none of the victim's limits", async () => {
  const { server } = await serverWith({ sendBurst: 2, sendsPerSecond: 0.001 });
  const alice = await register(server);
  const bob = await register(server);
  const cookie = `${alice.cookie?.name}=${alice.cookie?.value}`;
  for (let i = 0; i < 3; i++) {
    const forged = await server.inject({
      method: 'POST',
      url: '/api/v1/messages',
      headers: { cookie, origin: 'http://evil.test' },
      payload: { to: bob.username, text: 'forged' },
    });
    assert.equal(forged.statusCode, 403);
  }
  const real = await server.inject({
    method: 'POST',
    url: '/api/v1/messages',
    headers: { authorization: `Bearer ${alice.token}` },
    payload: { to: bob.username, text: 'mine' },
  });
  assert.equal(real.statusCode, 201, real.body);
});

it('the addresses of one IPv6 /64 share a per-address limit; another /64 does not', async () => {
  const { server } = await serverWith({ registrationsPerAddressPerHour: 2 });
  const registerFrom = async (from: string) =>
    (
      await server.inject({
        method: 'POST',
        url: '/api/v1/register',
        remoteAddress: from,
        payload: { username: `v${randomUUID().slice(0, 8)}`, password: PASSWORD },
      })
    ).statusCode;
  assert.equal(await registerFrom('2001:db8:1:2::1'), 201);
  assert.equal(await registerFrom('2001:db8:1:2:ffff::2'), 201);
  assert.equal(await registerFrom('2001:db8:1:2:abcd:ef01:2345:6789'), 429);
  assert.equal(await registerFrom('2001:db8:1:3::1'), 201);
});

it('a flood of password checks is refused at once past a bounded queue, not queued for minutes', async () => {
  const outcomes = await Promise.allSettled(
    Array.from({ length: 120 }, () => hashPassword('a password hashed in a flood')),
  );
  const refused = outcomes.filter((o) => o.status === 'rejected');
  assert.ok(refused.length > 0, 'some were refused');
  assert.ok(outcomes.length - refused.length >= 60, 'the queue still serves its share');
  const reason = (refused[0] as PromiseRejectedResult).reason as { status?: number; code?: string };
  assert.equal(reason.status, 503);
  assert.equal(reason.code, 'busy');
});

it('bad data in Redis is logged, not shown: a 500 that names no key', async () => {
  const { server, keys } = await serverWith(false);
  const alice = await register(server);
  const bob = await register(server);
  // Another program wrote something that is no sorted set where Bob's inbox goes.
  const { createClient } = await import('redis');
  const raw = createClient({ url: redis.url });
  await raw.connect();
  try {
    await raw.set(keys.inbox(bob.id), 'not a sorted set');
    const reply = await server.inject({
      method: 'POST',
      url: '/api/v1/messages',
      headers: { authorization: `Bearer ${alice.token}` },
      payload: { to: bob.username, text: 'to a broken inbox' },
    });
    assert.equal(reply.statusCode, 500, reply.body);
    assert.doesNotMatch(reply.body, /user_messages|sorted set/);
  } finally {
    raw.destroy();
  }
});

it('a logout between the upgrade and the hello closes the socket (4001); a cursor that is no id closes with 4002', async () => {
  const { server } = await serverWith(false);
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const bob = await register(server);

  const socket = await openLive(base, bob.token);
  assert.equal((await api(base, 'POST', '/logout', bob.token)).status, 204);
  socket.hello(null);
  await eventually(() => socket.closed.code !== undefined, 3000, 'the socket to close');
  assert.equal(socket.closed.code, 4001);

  const carol = await register(server);
  const bad = await openLive(base, carol.token);
  bad.hello('not-an-id');
  await eventually(() => bad.closed.code !== undefined, 3000, 'the socket to close');
  assert.equal(bad.closed.code, 4002);
  // A good hello still works for that user.
  const good = await liveClient(base, carol.token, null);
  good.socket.close();
});

it('guesses for one name sent all at once wait for each other: most are refused, not checked', async () => {
  const { server } = await serverWith({});
  const alice = await register(server);
  const replies = await Promise.all(
    Array.from({ length: 40 }, () =>
      server.inject({
        method: 'POST',
        url: '/api/v1/login',
        remoteAddress: '203.0.113.9',
        payload: { username: alice.username, password: 'a wrong password, guessed' },
      }),
    ),
  );
  const checked = replies.filter((r) => r.statusCode === 401).length;
  const refused = replies.filter((r) => r.statusCode === 429).length;
  assert.equal(checked + refused, 40);
  assert.ok(checked <= 5, `${checked} guesses were checked at once`);
});

it('a user holds at most 5 live sockets on a server, and at most 50 sessions', async () => {
  const { server } = await serverWith(false);
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const bob = await register(server);
  const five: Awaited<ReturnType<typeof liveClient>>[] = [];
  for (let i = 0; i < 5; i++) five.push(await liveClient(base, bob.token));
  const sixth = new WebSocket(`${base.replace('http', 'ws')}/api/v1/live`, {
    headers: { authorization: `Bearer ${bob.token}` },
  });
  const code = await within(
    5000,
    new Promise<number>((resolve) => sixth.on('close', (c) => resolve(c))),
    'the sixth socket to be closed',
  );
  assert.equal(code, 4008);
  for (const client of five) client.socket.close();
  // A socket of the oldest session (the one from sign-up), once the five have gone.
  await eventually(
    () => five.every((client) => client.closed.code !== undefined),
    5000,
    'five closed',
  );
  const oldest = await liveClient(base, bob.token);

  const tokens = [bob.token];
  for (let i = 0; i < 51; i++) {
    const reply = await server.inject({
      method: 'POST',
      url: '/api/v1/login',
      payload: { username: bob.username, password: PASSWORD },
    });
    tokens.push(reply.json().token);
  }
  const newest = tokens.at(-1) as string;
  const sessions = await api(base, 'GET', '/sessions', newest);
  assert.equal(sessions.json.sessions.length, 50);
  assert.equal((await api(base, 'GET', '/me', tokens[0])).status, 401, 'the oldest ended');
  assert.equal((await api(base, 'GET', '/me', newest)).status, 200);
  // Its socket is closed at once (not at the server's once-a-minute recheck).
  await eventually(() => oldest.closed.code === 4001, 2000, 'its socket closed with 4001');
});
