/**
 * The HTTP API in-process (Fastify's inject()), on one Redis and on a cluster: accounts
 * and sessions, every resource's success and failure shapes, authorization on every
 * route, CSRF and Origin refusals, and login that does not tell names apart.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { RedisMessenger } from '../src/index.js';
import { createServer, type Server } from '../src/server/index.js';
import { onEachBackend } from './support/backends.js';

const ORIGIN = 'http://chat.test';
const PASSWORD = 'correct horse battery staple';
const ROOMY = { registrationsPerAddressPerHour: 1000, requestsPerAddressPerMinute: 1000 };

interface Reply {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: each test reads the fields it expects
  json(): any;
  cookies: { name: string; value: string }[];
}

let messenger: RedisMessenger;
let server: Server;

function call(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return server.inject({
    method,
    url: `/api/v1${url}`,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { payload: options.body as object } : {}),
  }) as unknown as Promise<Reply>;
}

async function register(name = `u${randomUUID().slice(0, 8)}`) {
  const reply = await call('POST', '/register', { body: { username: name, password: PASSWORD } });
  assert.equal(reply.statusCode, 201, reply.body);
  const { user, token } = reply.json();
  return { name, id: user.id as string, token: token as string, cookie: reply.cookies[0] };
}

onEachBackend((backend) => {
  before(async () => {
    messenger = await backend().messenger();
    // Every test registers from one address: the other limits stay as they are by default.
    server = await createServer({ messenger, origins: [ORIGIN], rateLimits: ROOMY });
  });
  after(async () => {
    await server?.close();
    await messenger?.close();
  });

  describe('accounts', () => {
    it('register gives a token and an HttpOnly cookie; me knows the user', async () => {
      const { name, id, token, cookie } = await register();
      assert.equal(cookie?.name, 'messenger_session');
      const reply = await call('POST', '/register', {
        body: { username: 'x', password: PASSWORD },
      });
      assert.equal(reply.statusCode, 201);
      assert.match(String(reply.headers['set-cookie']), /HttpOnly; SameSite=Lax/);
      const me = await call('GET', '/me', { token });
      assert.equal(me.statusCode, 200);
      assert.equal(me.json().user.id, id);
      assert.equal(me.json().user.username, name);
      assert.equal(typeof me.json().csrfToken, 'string');
      // The password hash is not in the user's hash, which the original program reads whole.
      const hash = await messenger.getUser(id);
      assert.deepEqual(Object.keys(hash ?? {}).sort(), ['createdAt', 'id', 'username']);
    });

    it('refuses a short password, a long one, and a taken name', async () => {
      const short = await call('POST', '/register', {
        body: { username: `s${randomUUID().slice(0, 8)}`, password: 'too short' },
      });
      assert.equal(short.statusCode, 400);
      assert.equal(short.json().error.code, 'weak_password');
      const long = await call('POST', '/register', {
        body: { username: `l${randomUUID().slice(0, 8)}`, password: 'x'.repeat(257) },
      });
      assert.equal(long.statusCode, 400);
      const { name } = await register();
      const taken = await call('POST', '/register', {
        body: { username: name.toUpperCase(), password: PASSWORD },
      });
      assert.equal(taken.statusCode, 409);
      assert.deepEqual(taken.json(), {
        error: { code: 'username_taken', message: 'that username is taken' },
      });
    });

    it('login: the same answer for an unknown name, a wrong password, and no password set', async () => {
      const { name } = await register();
      const ok = await call('POST', '/login', { body: { username: name, password: PASSWORD } });
      assert.equal(ok.statusCode, 200);
      const noPassword = await messenger.createUser(`n${randomUUID().slice(0, 8)}`);
      const noPasswordName = (await messenger.getUser(noPassword))?.username;
      const answers = [];
      for (const [username, password] of [
        [name, `${PASSWORD}!`],
        [`nobody-${randomUUID().slice(0, 8)}`, PASSWORD],
        [noPasswordName, PASSWORD],
      ]) {
        const reply = await call('POST', '/login', { body: { username, password } });
        answers.push([reply.statusCode, reply.body]);
      }
      assert.equal(new Set(answers.map((a) => JSON.stringify(a))).size, 1, JSON.stringify(answers));
      assert.equal(answers[0]?.[0], 401);
    });

    it('sessions are listed, and one revoked (or logged out) no longer works', async () => {
      const { name, token } = await register();
      const second = (
        await call('POST', '/login', { body: { username: name, password: PASSWORD } })
      ).json().token;
      const listed = (await call('GET', '/sessions', { token })).json().sessions;
      assert.equal(listed.length, 2);
      assert.equal(listed.filter((s: { current: boolean }) => s.current).length, 1);
      const other = listed.find((s: { current: boolean }) => !s.current);
      assert.equal((await call('DELETE', `/sessions/${other.id}`, { token })).statusCode, 204);
      assert.equal((await call('GET', '/me', { token: second })).statusCode, 401);
      assert.equal((await call('DELETE', `/sessions/${other.id}`, { token })).statusCode, 404);
      assert.equal((await call('POST', '/logout', { token })).statusCode, 204);
      const after = await call('GET', '/me', { token });
      assert.equal(after.statusCode, 401);
      assert.equal(after.json().error.code, 'session_ended');
    });
  });

  describe('messages', () => {
    it('PUT messages/:id stores once: 201, then 200 with the same message; 409 for another text', async () => {
      const alice = await register();
      const bob = await register();
      const id = randomUUID();
      const first = await call('PUT', `/messages/${id}`, {
        token: alice.token,
        body: { to: bob.name, text: 'hello 👋\nbob' },
      });
      assert.equal(first.statusCode, 201, first.body);
      const again = await call('PUT', `/messages/${id}`, {
        token: alice.token,
        body: { to: bob.id, text: 'hello 👋\nbob' },
      });
      assert.equal(again.statusCode, 200);
      assert.deepEqual(again.json(), first.json());
      const conflict = await call('PUT', `/messages/${id}`, {
        token: alice.token,
        body: { to: bob.name, text: 'something else' },
      });
      assert.equal(conflict.statusCode, 409);
      const inbox = (await call('GET', '/inbox', { token: bob.token })).json();
      assert.deepEqual(inbox.messages, [first.json().message]);
      assert.equal(inbox.messages[0].senderId, alice.id);
    });

    it('conversations, seen and unread are the caller’s own', async () => {
      const alice = await register();
      const bob = await register();
      for (const text of ['one', 'two']) {
        const sent = await call('POST', '/messages', {
          token: alice.token,
          body: { to: bob.name, text },
        });
        assert.equal(sent.statusCode, 201);
      }
      assert.equal((await call('GET', '/unread', { token: bob.token })).json().total, 2);
      const list = (await call('GET', '/conversations', { token: bob.token })).json();
      assert.equal(list.conversations[0].with.id, alice.id);
      assert.equal(list.conversations[0].unread, 2);
      const page = (
        await call('GET', `/conversations/${alice.name}/messages?limit=1`, { token: bob.token })
      ).json();
      assert.deepEqual(
        page.messages.map((m: { text: string }) => m.text),
        ['two'],
      );
      assert.equal(page.hasOlder, true);
      const older = (
        await call('GET', `/conversations/${alice.id}/messages?before=${page.messages[0].id}`, {
          token: bob.token,
        })
      ).json();
      assert.deepEqual(
        older.messages.map((m: { text: string }) => m.text),
        ['one'],
      );
      // Alice marking her own conversation seen marks nothing of Bob's.
      const byAlice = await call('POST', `/conversations/${bob.name}/seen`, { token: alice.token });
      assert.equal(byAlice.json().marked, 0);
      assert.equal((await call('GET', '/unread', { token: bob.token })).json().total, 2);
      const marked = await call('POST', `/messages/seen`, {
        token: bob.token,
        body: { ids: [page.messages[0].id] },
      });
      assert.equal(marked.json().marked, 1);
      const rest = await call('POST', `/conversations/${alice.name}/seen`, { token: bob.token });
      assert.equal(rest.json().marked, 1);
      assert.equal((await call('GET', '/unread', { token: bob.token })).json().total, 0);
    });

    it('bad input is a 4xx with one error shape', async () => {
      const alice = await register();
      const cases: [string, 'GET' | 'POST' | 'PUT', string, unknown, number][] = [
        ['unknown receiver', 'POST', '/messages', { to: `nobody-${randomUUID()}`, text: 'x' }, 404],
        ['to themselves', 'POST', '/messages', { to: alice.name, text: 'x' }, 400],
        [
          'unknown receiver id',
          'PUT',
          `/messages/${randomUUID()}`,
          { to: randomUUID(), text: 'x' },
          404,
        ],
        [
          'to themselves by id',
          'PUT',
          `/messages/${randomUUID()}`,
          { to: alice.id.toUpperCase(), text: 'x' },
          400,
        ],
        ['empty text', 'POST', '/messages', { to: alice.name, text: '' }, 400],
        ['too long', 'POST', '/messages', { to: 'someone', text: 'x'.repeat(20_000) }, 400],
        ['not a uuid', 'PUT', '/messages/not-a-uuid', { to: 'x', text: 'x' }, 400],
        ['bad limit', 'GET', '/inbox?limit=1000', undefined, 400],
        ['bad cursor', 'GET', `/inbox?after=${randomUUID()}`, undefined, 400],
        ['no route', 'GET', '/nowhere', undefined, 404],
        // Fastify's router answers these itself, in a shape of its own, unless told not to.
        [
          'a path part past 100 characters',
          'GET',
          `/conversations/${'x'.repeat(101)}`,
          undefined,
          414,
        ],
        ['a path that is not valid', 'GET', '/conversations/%E0%A4%A', undefined, 400],
      ];
      for (const [what, method, url, body, status] of cases) {
        const reply = await call(method, url, { token: alice.token, body });
        assert.equal(reply.statusCode, status, `${what}: ${reply.body}`);
        assert.equal(typeof reply.json().error.code, 'string', what);
        assert.equal(typeof reply.json().error.message, 'string', what);
        assert.doesNotMatch(reply.body, /at .*\.ts:\d+/, `${what}: no stack trace`);
      }
      const plain = await server.inject({
        method: 'POST',
        url: '/api/v1/messages',
        headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'text/plain' },
        payload: '{"to":"x","text":"y"}',
      });
      assert.equal(plain.statusCode, 415, 'text/plain, which a form can post across sites');
    });

    it('contacts and the user directory', async () => {
      const alice = await register();
      const bob = await register();
      assert.equal(
        (await call('PUT', `/contacts/${bob.name}`, { token: alice.token })).statusCode,
        201,
      );
      assert.equal(
        (await call('PUT', `/contacts/${bob.name}`, { token: alice.token })).statusCode,
        200,
      );
      const contacts = (await call('GET', '/contacts', { token: alice.token })).json().contacts;
      assert.deepEqual(
        contacts.map((c: { id: string }) => c.id),
        [bob.id],
      );
      assert.equal(
        (await call('GET', '/contacts', { token: bob.token })).json().contacts.length,
        0,
      );
      assert.equal(
        (await call('DELETE', `/contacts/${bob.id}`, { token: alice.token })).statusCode,
        204,
      );
      assert.equal(
        (await call('DELETE', `/contacts/${bob.id}`, { token: alice.token })).statusCode,
        404,
      );
      const found = await call('GET', `/users/${bob.name}`, { token: alice.token });
      assert.equal(found.json().user.id, bob.id);
      const page = (await call('GET', '/users?limit=2', { token: alice.token })).json();
      assert.equal(page.users.length, 2);
    });

    it('GET /users?prefix searches the directory by the start of a name, ignoring case', async () => {
      const tag = randomUUID().slice(0, 6);
      const zoe = await register(`Zoe-${tag}`);
      const zora = await register(`zora-${tag}`);
      await register(`ZOE-${tag}x`);
      const search = (query: string) => call('GET', `/users?${query}`, { token: zoe.token });
      const found = await search(`prefix=ZO&limit=100`);
      assert.equal(found.statusCode, 200, found.body);
      const mine = found
        .json()
        .users.filter(
          (u: { username: string }) => u.username.endsWith(tag) || u.username.endsWith(`${tag}x`),
        );
      assert.deepEqual(
        mine.map((u: { username: string }) => u.username),
        [`Zoe-${tag}`, `ZOE-${tag}x`, `zora-${tag}`],
      );
      assert.deepEqual(Object.keys(mine[0]).sort(), ['createdAt', 'id', 'username']);
      const one = (await search(`prefix=${encodeURIComponent(`zoe-${tag}`)}&limit=1`)).json();
      assert.deepEqual(
        one.users.map((u: { id: string }) => u.id),
        [zoe.id],
      );
      assert.equal(one.hasMore, true);
      const zoras = (await search(`prefix=${encodeURIComponent(`ZORA-${tag}`)}`)).json();
      assert.deepEqual(zoras, {
        users: [{ id: zora.id, username: `zora-${tag}`, createdAt: zoras.users[0].createdAt }],
        hasMore: false,
      });
      assert.deepEqual((await search(`prefix=nobody-${tag}`)).json(), {
        users: [],
        hasMore: false,
      });
      // Without a prefix it is the listing, as before.
      assert.equal((await search('limit=1')).json().users.length, 1);
      for (const [query, status] of [
        ['prefix=', 400],
        [`prefix=${'a'.repeat(33)}`, 400],
        ['prefix=%20a', 400],
        ['prefix=a%00', 400],
        ['prefix=a&limit=101', 400],
        [`prefix=a&after=${zoe.id}`, 400],
      ] as const) {
        const reply = await search(query);
        assert.equal(reply.statusCode, status, `${query}: ${reply.body}`);
        assert.equal(reply.json().error.code, 'invalid', query);
      }
      assert.equal((await call('GET', '/users?prefix=zo')).statusCode, 401, 'needs a session');
    });
  });

  describe('authorization', () => {
    const guarded: ['GET' | 'POST' | 'PUT' | 'DELETE', string][] = [
      ['GET', '/me'],
      ['POST', '/logout'],
      ['GET', '/sessions'],
      ['DELETE', `/sessions/${'a'.repeat(64)}`],
      ['GET', '/users'],
      ['GET', '/users/someone'],
      ['PUT', `/messages/${randomUUID()}`],
      ['POST', '/messages'],
      ['GET', '/inbox'],
      ['POST', '/messages/seen'],
      ['GET', '/unread'],
      ['GET', '/conversations'],
      ['GET', '/conversations/someone/messages'],
      ['POST', '/conversations/someone/seen'],
      ['GET', '/contacts'],
      ['PUT', '/contacts/someone'],
      ['DELETE', '/contacts/someone'],
    ];

    it('every route but register and login needs a live session', async () => {
      const { token, id } = await register();
      const forged = `msg_${id}_${'A'.repeat(43)}`;
      for (const [method, url] of guarded) {
        for (const [what, credential] of [
          ['none', undefined],
          ['malformed', 'not-a-token'],
          ['forged', forged],
        ] as const) {
          const reply = await call(method, url, { token: credential, body: {} });
          assert.equal(reply.statusCode, 401, `${method} ${url} with ${what}: ${reply.body}`);
        }
      }
      await call('POST', '/logout', { token });
      for (const [method, url] of guarded) {
        const reply = await call(method, url, { token, body: {} });
        assert.equal(reply.statusCode, 401, `${method} ${url} after logout`);
      }
    });

    it('a cookie needs the CSRF token and an allowed Origin to change anything', async () => {
      const alice = await register();
      const bob = await register();
      const cookie = `${alice.cookie?.name}=${alice.cookie?.value}`;
      const me = await call('GET', '/me', { headers: { cookie } });
      assert.equal(me.statusCode, 200, 'a cookie reads');
      const csrf = me.json().csrfToken;
      const send = (headers: Record<string, string>) =>
        call('POST', '/messages', {
          headers: { cookie, ...headers },
          body: { to: bob.name, text: 'hi' },
        });
      const refusals: [string, Record<string, string>][] = [
        ['no CSRF token', { origin: ORIGIN }],
        ['a wrong CSRF token', { origin: ORIGIN, 'x-csrf-token': `${csrf}x` }],
        ['no Origin', { 'x-csrf-token': csrf }],
        ['another Origin', { origin: 'http://evil.test', 'x-csrf-token': csrf }],
        [
          'a cross-site fetch',
          { origin: ORIGIN, 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' },
        ],
      ];
      for (const [what, headers] of refusals) {
        const reply = await send(headers);
        assert.equal(reply.statusCode, 403, `${what}: ${reply.body}`);
      }
      assert.equal((await send({ origin: ORIGIN, 'x-csrf-token': csrf })).statusCode, 201);
      // A bearer token is not sent by browsers on their own: no CSRF check.
      const bearer = await call('POST', '/messages', {
        token: alice.token,
        body: { to: bob.name, text: 'from the CLI' },
      });
      assert.equal(bearer.statusCode, 201);
      const login = await call('POST', '/login', {
        headers: { origin: 'http://evil.test' },
        body: { username: alice.name, password: PASSWORD },
      });
      assert.equal(login.statusCode, 403, 'login from another site');
    });
  });

  describe('session names', () => {
    it("a session is stored under its token's SHA-256 (sessions in Redis stay valid across versions)", async () => {
      const { id, token } = await register();
      const sha256 = createHash('sha256').update(token).digest('hex');
      const session = await messenger.accounts.session(id, sha256, 3_600_000);
      assert.equal(session?.id, sha256);
    });
  });

  describe('the API version header', () => {
    it('is on every answer: success, refusals, bad input, no route, health and the page', async () => {
      const { id, token } = await register();
      const other = await register();
      const raw = (
        method: 'GET' | 'PUT',
        url: string,
        headers: Record<string, string>,
        payload?: string,
      ) =>
        server.inject({
          method,
          url,
          headers,
          ...(payload !== undefined ? { payload } : {}),
        }) as unknown as Promise<Reply>;
      const bearer = { authorization: `Bearer ${token}` };
      const answers = await Promise.all([
        call('GET', '/me', { token }),
        call('PUT', `/messages/${randomUUID()}`, { token, body: { to: other.id, text: 'hi' } }),
        call('GET', '/me'),
        call('GET', '/me', { token: `msg_${id}_${'x'.repeat(43)}` }),
        call('PUT', '/messages/not-an-id', { token, body: { to: other.id, text: 'hi' } }),
        raw(
          'PUT',
          `/api/v1/messages/${randomUUID()}`,
          { ...bearer, 'content-type': 'application/json' },
          '{"to":',
        ),
        raw(
          'PUT',
          `/api/v1/messages/${randomUUID()}`,
          { ...bearer, 'content-type': 'text/plain' },
          'hi',
        ),
        call('GET', '/live', { token }),
        call('GET', '/no-such-route', { token }),
        raw('GET', '/healthz', {}),
        raw('GET', '/', {}),
      ]);
      assert.deepEqual(
        answers.map((reply) => reply.statusCode),
        [200, 201, 401, 401, 400, 400, 415, 426, 404, 200, 200],
      );
      for (const reply of answers) assert.equal(reply.headers['x-messenger-api'], '1');
    });
  });

  describe('health', () => {
    it('healthz and readyz answer without a session', async () => {
      assert.equal((await server.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      assert.equal((await server.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    });
  });
});
