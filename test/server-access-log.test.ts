/**
 * The access log: one line per request (Fastify's own logging wrote two, each a write
 * system call of its own), written in batches, still with what an operator needs and
 * still never a token or a text (docs/performance.md, "The access log: one line per request").
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { RedisMessenger } from '../src/index.js';
import { requestIds } from '../src/server/access-log.js';
import { batchedLines, createServer, type Server } from '../src/server/index.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';

let redis: RedisServer;
let messenger: RedisMessenger;
let server: Server;
/** What reached the log's destination, one entry per write. */
const writes: string[] = [];
const lines = batchedLines({ write: (text: string) => writes.push(text) });

before(async () => {
  redis = await startRedisServer();
  messenger = await RedisMessenger.connect({
    url: redis.url,
    namespace: `access-log-${randomUUID()}`,
  });
  server = await createServer({
    messenger,
    origins: [],
    rateLimits: false,
    logger: { level: 'info', stream: lines },
  });
});
after(async () => {
  await server?.close();
  await messenger?.close();
  await redis?.stop();
});

/** A request's line, as Fastify's serializers write it. */
interface RequestLine {
  msg: string;
  reqId: string;
  req: { method: string; url: string };
  res: { statusCode: number };
  responseTime: number;
}

const logged = () =>
  writes
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RequestLine);

it('one line per request, with its id, method, URL, status and time, and no token or text', async () => {
  const register = async (username: string) => {
    const reply = await server.inject({
      method: 'POST',
      url: '/api/v1/register',
      payload: { username, password: 'a long enough password' },
    });
    assert.equal(reply.statusCode, 201, reply.body);
    return reply.json() as { user: { id: string }; token: string };
  };
  const ann = await register('ann');
  const bob = await register('bob');
  lines.flush();
  writes.length = 0;
  const text = 'a text nobody should log';
  const id = randomUUID();
  const sent = await server.inject({
    method: 'PUT',
    url: `/api/v1/messages/${id}`,
    headers: { authorization: `Bearer ${ann.token}` },
    payload: { to: bob.user.id, text },
  });
  assert.equal(sent.statusCode, 201, sent.body);
  const refused = await server.inject({ method: 'GET', url: '/api/v1/me' });
  assert.equal(refused.statusCode, 401);
  lines.flush();
  const entries = logged();
  assert.equal(entries.length, 2, JSON.stringify(entries));
  const [put, me] = entries as [RequestLine, RequestLine];
  assert.equal(put.msg, 'request completed');
  assert.equal(typeof put.reqId, 'string');
  assert.equal(put.req.method, 'PUT');
  assert.equal(put.req.url, `/api/v1/messages/${id}`);
  assert.equal(put.res.statusCode, 201);
  assert.equal(typeof put.responseTime, 'number');
  assert.equal(me.req.url, '/api/v1/me');
  assert.equal(me.res.statusCode, 401);
  assert.notEqual(put.reqId, me.reqId);
  const all = writes.join('');
  for (const secret of [ann.token, ann.token.slice(-20), text])
    assert.ok(!all.includes(secret), `the log holds ${secret}`);
});

it('lines logged in one turn of the event loop go out in one write, and flush writes at once', async () => {
  const out: string[] = [];
  const batch = batchedLines({ write: (text: string) => out.push(text) });
  batch.write('one\n');
  batch.write('two\n');
  batch.write('three\n');
  assert.deepEqual(out, [], 'nothing written within the turn');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(out, ['one\ntwo\nthree\n']);
  batch.write('four\n');
  batch.flush();
  assert.deepEqual(out, ['one\ntwo\nthree\n', 'four\n'], 'flush writes what waits');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(out.length, 2, 'nothing written twice');
});

it("request ids are unique within a server and apart from another server's", () => {
  const first = requestIds();
  const second = requestIds();
  const ids = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    ids.add(first());
    ids.add(second());
  }
  assert.equal(ids.size, 10_000);
  const [a, b] = [first(), second()];
  assert.match(a, /^[0-9a-f]{12}-[0-9a-z]+$/);
  assert.notEqual(a.split('-')[0], b.split('-')[0], 'each server draws its own prefix');
});
