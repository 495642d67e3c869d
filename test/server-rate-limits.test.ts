/**
 * Every rate limit of the server, in-process (inject(), which lets a test choose the
 * client's address) on one Redis and on a cluster: each refuses with 429, Retry-After and
 * retry_after_ms once its number is reached, counts only whom it should, is shared by two
 * server instances on one Redis, and `rateLimits: false` turns them all off. Each test has
 * a server (and a namespace) of its own, with small numbers.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { RedisMessenger } from '../src/index.js';
import { keySlot } from '../src/redis/key-slot.js';
import { createServer, type RateLimitOptions, type Server } from '../src/server/index.js';
import { commandsDuring, onEachBackend } from './support/backends.js';
import { sleep } from './support/wait.js';

/** Two message ids whose keys share a hash slot (a message key's tag is its id). */
function idsOfOneSlot(): [string, string] {
  const first = randomUUID();
  let second = randomUUID();
  while (keySlot(`{${second}}`) !== keySlot(`{${first}}`)) second = randomUUID();
  return [first, second];
}

const PASSWORD = 'correct horse battery staple';

interface Reply {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: each test reads the fields it expects
  json(): any;
}

function call(
  server: Server,
  method: 'GET' | 'POST',
  url: string,
  options: { token?: string; body?: unknown; from?: string } = {},
): Promise<Reply> {
  return server.inject({
    method,
    url: `/api/v1${url}`,
    remoteAddress: options.from ?? '192.0.2.1',
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    ...(options.body !== undefined ? { payload: options.body as object } : {}),
  }) as unknown as Promise<Reply>;
}

/** A 429 in the one error shape, with its wait in both forms; returns the wait in ms. */
function assertLimited(reply: Reply, what: string): number {
  assert.equal(reply.statusCode, 429, `${what}: ${reply.body}`);
  const body = reply.json();
  assert.equal(body.error.code, 'rate_limited', what);
  assert.equal(typeof body.error.message, 'string', what);
  const ms = body.error.retry_after_ms;
  assert.ok(Number.isInteger(ms) && ms > 0, `${what}: retry_after_ms ${ms}`);
  assert.equal(reply.headers['retry-after'], String(Math.ceil(ms / 1000)), what);
  return ms;
}

onEachBackend((backend) => {
  const open: { server: Server; messenger: RedisMessenger }[] = [];
  after(async () => {
    for (const { server, messenger } of open) {
      await server.close();
      await messenger.close();
    }
  });

  /** A server with its own messenger; `namespace` to share one with another server. */
  async function serverWith(
    rateLimits: Partial<RateLimitOptions> | false,
    namespace = `test-${randomUUID()}`,
  ): Promise<Server> {
    const messenger = await backend().messenger({ namespace });
    const server = await createServer({ messenger, origins: [], rateLimits });
    open.push({ server, messenger });
    return server;
  }

  async function register(server: Server, from = `198.51.100.${Math.floor(Math.random() * 250)}`) {
    const username = `u${randomUUID().slice(0, 8)}`;
    const reply = await call(server, 'POST', '/register', {
      body: { username, password: PASSWORD },
      from,
    });
    assert.equal(reply.statusCode, 201, reply.body);
    return { username, token: reply.json().token as string };
  }

  const login = (server: Server, username: string, password: string, from: string) =>
    call(server, 'POST', '/login', { body: { username, password }, from });

  describe('rate limits', () => {
    it('registrations per address', async () => {
      const server = await serverWith({ registrationsPerAddressPerHour: 2 });
      await register(server, '203.0.113.1');
      await register(server, '203.0.113.1');
      const third = await call(server, 'POST', '/register', {
        body: { username: `u${randomUUID().slice(0, 8)}`, password: PASSWORD },
        from: '203.0.113.1',
      });
      const wait = assertLimited(third, 'a third registration');
      assert.ok(wait > 3_500_000 && wait <= 3_600_000, `an hour's window: ${wait}`);
      await register(server, '203.0.113.2');
    });

    it('requests without a session per address, bad tokens included', async () => {
      const server = await serverWith({ requestsPerAddressPerMinute: 3 });
      for (let i = 0; i < 3; i++) {
        const reply = await call(server, 'GET', '/me', { token: 'guess', from: '203.0.113.9' });
        assert.equal(reply.statusCode, 401);
      }
      assertLimited(
        await call(server, 'GET', '/me', { token: 'guess', from: '203.0.113.9' }),
        'a fourth guess',
      );
      assertLimited(
        await login(server, 'anyone', PASSWORD, '203.0.113.9'),
        'login from the same address',
      );
      const other = await call(server, 'GET', '/me', { token: 'guess', from: '203.0.113.10' });
      assert.equal(other.statusCode, 401, 'another address is not limited');
    });

    it('sends per user: a token bucket shared by two server instances', async () => {
      const namespace = `test-${randomUUID()}`;
      // A token every 2 s: the four sends "at once" fit in that even on a loaded machine
      // (at 2 a second, one came back during them at load average 14).
      const limits = { sendBurst: 3, sendsPerSecond: 0.5 };
      const one = await serverWith(limits, namespace);
      const two = await serverWith(limits, namespace);
      const alice = await register(one);
      const bob = await register(one);
      const send = (server: Server, token: string, to = bob.username) =>
        call(server, 'POST', '/messages', { token, body: { to, text: 'hi' } });
      for (const server of [one, two, one])
        assert.equal((await send(server, alice.token)).statusCode, 201);
      const wait = assertLimited(await send(two, alice.token), 'a fourth send at once');
      assert.ok(wait <= 2000, `a token comes every 2 s: ${wait}`);
      assert.equal(
        (await send(one, bob.token, alice.username)).statusCode,
        201,
        'bob has his own bucket',
      );
      assert.equal(
        (await call(two, 'GET', '/inbox', { token: alice.token })).statusCode,
        200,
        'reading is not sending',
      );
      await sleep(wait + 20);
      assert.equal((await send(two, alice.token)).statusCode, 201, 'a token again');
      assertLimited(await send(one, alice.token), 'and only one');
    });

    it('sends to a user id take their token inside the send: the same bucket, one round trip, nothing stored when refused', async () => {
      const server = await serverWith({ sendBurst: 4, sendsPerSecond: 0.5 });
      const alice = await register(server);
      const bob = await register(server);
      const bobId = (await call(server, 'GET', '/me', { token: bob.token })).json().user.id;
      const send = (to: string, id: string = randomUUID()) =>
        server.inject({
          method: 'PUT',
          url: `/api/v1/messages/${id}`,
          headers: { authorization: `Bearer ${alice.token}` },
          payload: { to, text: 'hi' },
        }) as unknown as Promise<Reply>;
      /** EVALSHAs every master answered during `work` (the bucket's script is one of them). */
      const scriptsDuring = async (work: () => Promise<unknown>) =>
        (await commandsDuring(backend(), work)).evalsha ?? 0;
      // Two sends warm the scripts and the session; then one of each kind, counted. Their
      // ids share a slot: on a cluster a send whose slots one master serves is one script,
      // and both must take the same way.
      assert.equal((await send(bobId)).statusCode, 201);
      const [nameId, idId] = idsOfOneSlot();
      const byName = await scriptsDuring(async () => {
        assert.equal((await send(bob.username, nameId)).statusCode, 201);
      });
      const byId = await scriptsDuring(async () => {
        assert.equal((await send(bobId, idId)).statusCode, 201);
      });
      // By name the bucket is its own step before the lookup; by id it is in the send's.
      assert.equal(byName - byId, 1, `scripts: by name ${byName}, by id ${byId}`);
      // The bucket is the same one: the fourth took the last token.
      assert.equal((await send(bobId)).statusCode, 201);
      const refusedId = randomUUID();
      const wait = assertLimited(await send(bobId, refusedId), 'a fifth send at once');
      assert.ok(wait <= 2000, `a token comes every 2 s: ${wait}`);
      assertLimited(await send(bob.username), 'and by name too');
      const inbox = (await call(server, 'GET', '/inbox', { token: bob.token })).json();
      assert.equal(inbox.messages.length, 4);
      const ids = await backend().keys(`*${refusedId}*`);
      assert.deepEqual(ids, [], 'the refused send left no key behind');
    });

    it('other requests per user', async () => {
      const server = await serverWith({ requestsPerUserPer10Seconds: 3 });
      const alice = await register(server);
      const bob = await register(server);
      for (let i = 0; i < 3; i++)
        assert.equal((await call(server, 'GET', '/me', { token: alice.token })).statusCode, 200);
      const wait = assertLimited(
        await call(server, 'GET', '/unread', { token: alice.token }),
        'a fourth',
      );
      assert.ok(wait <= 10_000, `a 10 s window: ${wait}`);
      assert.equal((await call(server, 'GET', '/me', { token: bob.token })).statusCode, 200);
    });

    it('login per name and address: a hard block for that pair only', async () => {
      const server = await serverWith({
        loginFailuresPerNameAndAddress: 3,
        loginFailuresPerName: 100,
      });
      const { username } = await register(server);
      for (let i = 0; i < 3; i++)
        assert.equal(
          (await login(server, username, 'wrong password!!', '203.0.113.20')).statusCode,
          401,
        );
      const wait = assertLimited(
        await login(server, username, PASSWORD, '203.0.113.20'),
        'the right password from the blocked address',
      );
      assert.ok(wait > 3_500_000, `blocked for an hour: ${wait}`);
      assert.equal(
        (await login(server, username, PASSWORD, '203.0.113.21')).statusCode,
        200,
        'the owner elsewhere',
      );
    });

    it('login per name: a short lockout that doubles, spares known addresses, and a success ends', async () => {
      const server = await serverWith({
        loginFailuresPerName: 3,
        loginLockoutSeconds: 1,
        loginLockoutMaxSeconds: 60,
        loginFailuresPerNameAndAddress: 100,
      });
      const { username } = await register(server);
      assert.equal((await login(server, username, PASSWORD, '203.0.113.30')).statusCode, 200);
      const fail = async (times: number) => {
        for (let i = 0; i < times; i++)
          assert.equal(
            (await login(server, username, 'wrong password!!', `203.0.113.${40 + i}`)).statusCode,
            401,
          );
      };
      await fail(3);
      const first = assertLimited(
        await login(server, username, PASSWORD, '203.0.113.50'),
        'locked',
      );
      assert.ok(first <= 1000, `the first lockout is a second: ${first}`);
      assert.equal(
        (await login(server, username, PASSWORD, '203.0.113.30')).statusCode,
        200,
        'an address that signed in before is not locked out',
      );
      // That success ended the streak: three new failures lock again, for 1 s again.
      await fail(3);
      const again = assertLimited(
        await login(server, username, PASSWORD, '203.0.113.51'),
        'locked again',
      );
      assert.ok(again <= 1000, `a success reset the doubling: ${again}`);
      await sleep(again + 20);
      await fail(3);
      const doubled = assertLimited(
        await login(server, username, PASSWORD, '203.0.113.52'),
        'locked twice',
      );
      assert.ok(doubled > 1000 && doubled <= 2000, `the second lockout doubles: ${doubled}`);
      // A name nobody has locks the same way: a lockout tells nobody which names exist.
      const nobody = `nobody${randomUUID().slice(0, 8)}`;
      for (let i = 0; i < 3; i++)
        assert.equal(
          (await login(server, nobody, PASSWORD, `203.0.113.${60 + i}`)).statusCode,
          401,
        );
      assertLimited(await login(server, nobody, PASSWORD, '203.0.113.70'), 'an unknown name');
    });

    it('login failures per address, whatever the names', async () => {
      const server = await serverWith({ loginFailuresPerAddressPerDay: 3 });
      const { username } = await register(server);
      for (let i = 0; i < 3; i++)
        assert.equal(
          (await login(server, `n${randomUUID().slice(0, 8)}`, PASSWORD, '203.0.113.80'))
            .statusCode,
          401,
        );
      assertLimited(await login(server, username, PASSWORD, '203.0.113.80'), 'a fourth name');
      assert.equal((await login(server, username, PASSWORD, '203.0.113.81')).statusCode, 200);
    });

    it('live-channel upgrades per address', async () => {
      const server = await serverWith({ upgradesPerAddressPerMinute: 2 });
      const { token } = await register(server);
      await server.listen({ port: 0, host: '127.0.0.1' });
      const address = server.server.address();
      const url = `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/v1/live`;
      const upgrade = () =>
        new Promise<{ status: number; retryAfter?: string }>((resolve) => {
          const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
          socket.on('unexpected-response', (_request, response) =>
            resolve({
              status: response.statusCode ?? 0,
              retryAfter: response.headers['retry-after'],
            }),
          );
          socket.on('open', () => {
            socket.close();
            resolve({ status: 101 });
          });
          socket.on('error', () => {});
        });
      assert.equal((await upgrade()).status, 101);
      assert.equal((await upgrade()).status, 101);
      const third = await upgrade();
      assert.equal(third.status, 429);
      assert.ok(Number(third.retryAfter) >= 1 && Number(third.retryAfter) <= 60, third.retryAfter);
    });

    it('rateLimits: false turns every limit off', async () => {
      const server = await serverWith(false);
      for (let i = 0; i < 7; i++) await register(server, '203.0.113.90');
      const { username } = await register(server);
      for (let i = 0; i < 12; i++)
        assert.equal(
          (await login(server, username, 'wrong password!!', '203.0.113.91')).statusCode,
          401,
        );
      assert.equal((await login(server, username, PASSWORD, '203.0.113.91')).statusCode, 200);
    });
  });
});
