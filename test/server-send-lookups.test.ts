/**
 * What a send through the server costs Redis: `PUT /messages/:id` to a user id makes no
 * lookup of the receiver first (the send refuses an unknown receiver itself), so one
 * round trip fewer than a send to a username, and is refused with the same 404 when the
 * id is nobody's; with the session in the server's memory it is the send's one round
 * trip (docs/performance.md, the server's profile).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { createClient, type RedisClientType } from 'redis';
import { RedisMessenger } from '../src/index.js';
import { createServer, type Server } from '../src/server/index.js';
import { commandsDuring } from './support/backends.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';

let redis: RedisServer;
let messenger: RedisMessenger;
let server: Server;
let probe: ReturnType<typeof createClient>;

before(async () => {
  redis = await startRedisServer();
  messenger = await RedisMessenger.connect({
    url: redis.url,
    namespace: `lookups-${randomUUID()}`,
  });
  server = await createServer({ messenger, origins: [], rateLimits: false });
  probe = createClient({ url: redis.url });
  await probe.connect();
});
after(async () => {
  await probe?.quit();
  await server?.close();
  await messenger?.close();
  await redis?.stop();
});

async function register(username: string): Promise<{ id: string; token: string }> {
  const reply = await server.inject({
    method: 'POST',
    url: '/api/v1/register',
    payload: { username, password: 'a long enough password' },
  });
  assert.equal(reply.statusCode, 201, reply.body);
  const { user, token } = reply.json();
  return { id: user.id, token };
}

/** Redis commands of each kind while `work` runs (INFO commandstats, this Redis only). */
const commandsOf = (work: () => Promise<unknown>) =>
  commandsDuring({ eachMaster: async (ask) => [await ask(probe as RedisClientType)] }, work);

it('a send to a user id reads no more than a send to a username, less by the receiver’s lookup', async () => {
  const ann = await register('ann');
  const bob = await register('bob');
  const put = (to: string) =>
    server.inject({
      method: 'PUT',
      url: `/api/v1/messages/${randomUUID()}`,
      headers: { authorization: `Bearer ${ann.token}` },
      payload: { to, text: 'hello' },
    });
  // Warm: scripts loaded, and the session kept in the server's memory (until the server
  // hears the ended-sessions channel, each request reads the session and its user).
  let status = 0;
  let reads = Number.POSITIVE_INFINITY;
  let sent = 0;
  for (const start = Date.now(); reads > 0 && Date.now() - start < 5000; sent++) {
    const used = await commandsOf(async () => {
      status = (await put(bob.id)).statusCode;
    });
    assert.equal(status, 201);
    reads = used.hgetall ?? 0;
  }
  assert.equal(reads, 0, 'a send to an id with a known session reads no hash: one round trip');
  const byName = await commandsOf(async () => {
    status = (await put('bob')).statusCode;
  });
  assert.equal(status, 201);
  const byId = await commandsOf(async () => {
    status = (await put(bob.id)).statusCode;
  });
  assert.equal(status, 201);
  // By name: the name's id (usernames), then the user; by id: neither.
  assert.ok((byName.hget ?? 0) >= 1, JSON.stringify(byName));
  assert.equal(
    byId.hgetall ?? 0,
    (byName.hgetall ?? 0) - 1,
    `by name ${JSON.stringify(byName)}, by id ${JSON.stringify(byId)}`,
  );
  // Nobody's id: refused as before, with nothing stored.
  const nobody = await put(randomUUID());
  assert.equal(nobody.statusCode, 404);
  assert.equal(nobody.json().error.code, 'user_not_found');
  const inbox = await messenger.listUserMessages(bob.id);
  assert.equal(inbox.messages.length, sent + 2);
});
