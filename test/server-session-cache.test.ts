/**
 * The sessions a server keeps in memory (src/server/auth/session-cache.ts), on one Redis
 * and on a cluster: a known session costs no Redis read, yet an ending (on this server or
 * another one on the same Redis) takes effect at once; a read that raced an ending is not
 * kept; nothing is used while endings may be missed (nor while Redis is down when the
 * cache first listens, which it then does by itself once Redis is back); a session past
 * its own end is not used; the cache stays within its bound.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Keys } from '../src/core/keys.js';
import { RedisMessenger, RedisUnavailableError } from '../src/index.js';
import {
  MAX_AGE_MS,
  MAX_ENTRIES,
  SessionCache,
  type SignedIn,
} from '../src/server/auth/session-cache.js';
import { newCsrfToken, newToken, tokenHash } from '../src/server/auth/tokens.js';
import { createServer, type Server } from '../src/server/index.js';
import { commandsDuring, onEachBackend } from './support/backends.js';
import { startRedisServer } from './support/redis-server.js';
import { eventually, sleep } from './support/wait.js';

const PASSWORD = 'correct horse battery staple';
const ROOMY = { registrationsPerAddressPerHour: 1000, requestsPerAddressPerMinute: 1000 };
const IDLE_MS = 3_600_000;

/** A new user with a session opened through the library (as `POST /login` would). */
async function signedInUser(messenger: RedisMessenger, absoluteMs = IDLE_MS) {
  const id = await messenger.createUser(`c${randomUUID().slice(0, 8)}`);
  const token = newToken(id);
  const session = await messenger.accounts.openSession(id, tokenHash(token), {
    userAgent: 'test',
    csrf: newCsrfToken(),
    idleMs: IDLE_MS,
    absoluteMs,
  });
  const user = await messenger.getUser(id);
  assert.ok(user);
  return { id, token, hash: session.id, signedIn: { user, session } satisfies SignedIn };
}

/** Reads the session from Redis, as the guard does. */
const fromRedis = (messenger: RedisMessenger, id: string, hash: string) => async () => {
  const [session, user] = await Promise.all([
    messenger.accounts.session(id, hash, IDLE_MS),
    messenger.getUser(id),
  ]);
  return session && user ? { user, session } : null;
};

onEachBackend((backend) => {
  describe('two servers on one Redis', () => {
    let one: RedisMessenger;
    let other: RedisMessenger;
    let first: Server;
    let second: Server;
    before(async () => {
      // Two messengers on one namespace: two processes, as far as notices go.
      const namespace = `test-${randomUUID()}`;
      one = await backend().messenger({ namespace });
      other = await backend().messenger({ namespace });
      first = await createServer({ messenger: one, origins: [], rateLimits: ROOMY });
      second = await createServer({ messenger: other, origins: [], rateLimits: ROOMY });
    });
    after(async () => {
      await first?.close();
      await second?.close();
      await one?.close();
      await other?.close();
    });

    const me = (server: Server, token: string) =>
      server.inject({
        method: 'GET',
        url: '/api/v1/me',
        headers: { authorization: `Bearer ${token}` },
      });

    it('a known session costs no Redis read; logged out on the other server, it is refused here at once', async () => {
      const registered = await first.inject({
        method: 'POST',
        url: '/api/v1/register',
        payload: { username: `c${randomUUID().slice(0, 8)}`, password: PASSWORD },
      });
      assert.equal(registered.statusCode, 201, registered.body);
      const { token } = registered.json();
      // The first request starts the second server listening to endings; until Redis has
      // confirmed that, each request reads the session from Redis (two HGETALLs).
      const start = Date.now();
      let reads = Number.POSITIVE_INFINITY;
      while (reads > 0 && Date.now() - start < 5000) {
        const used = await commandsDuring(backend(), async () => {
          for (let i = 0; i < 20; i++) assert.equal((await me(second, token)).statusCode, 200);
        });
        reads = used.hgetall ?? 0;
      }
      assert.equal(reads, 0, '20 requests with a known session read nothing from Redis');

      const loggedOut = await first.inject({
        method: 'POST',
        url: '/api/v1/logout',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(loggedOut.statusCode, 204);
      const ended = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - ended < MAX_AGE_MS) {
        status = (await me(second, token)).statusCode;
        if (status === 200) await sleep(5);
      }
      const took = Date.now() - ended;
      assert.equal(status, 401);
      // Heard through the channel, not waited out (the cache keeps an entry MAX_AGE_MS).
      assert.ok(took < 500, `refused ${took} ms after the logout`);
    });
  });

  describe('the cache itself', () => {
    const namespace = `test-${randomUUID()}`;
    let messenger: RedisMessenger;
    let cache: SessionCache;
    before(async () => {
      messenger = await backend().messenger({ namespace });
    });
    after(async () => {
      await cache?.close();
      await messenger?.close();
    });

    /** A cache that hears endings already. */
    async function listeningCache(): Promise<SessionCache> {
      await cache?.close();
      cache = new SessionCache(messenger.accounts);
      await cache.signedIn(randomUUID(), 'f'.repeat(64), IDLE_MS, async () => null);
      await eventually(() => cache.trusted, 10_000, 'the ended-sessions channel to be heard');
      return cache;
    }

    it('a read that an ending overtook is not kept', async () => {
      const cache = await listeningCache();
      const { id, hash, signedIn } = await signedInUser(messenger);
      // The read returns the session as it was before the logout that ran meanwhile.
      const raced = await cache.signedIn(id, hash, IDLE_MS, async () => {
        await messenger.accounts.endSession(id, hash);
        return signedIn;
      });
      assert.equal(raced, signedIn, 'this request was already under way: it goes on');
      assert.equal(cache.size, 0, 'but what it read is not kept');
      assert.equal(await cache.signedIn(id, hash, IDLE_MS, fromRedis(messenger, id, hash)), null);
    });

    it('an ending in another process removes the entry; one in this process too', async () => {
      const cache = await listeningCache();
      const elsewhere = await backend().messenger({ namespace });
      try {
        const a = await signedInUser(messenger);
        const b = await signedInUser(messenger);
        for (const { id, hash } of [a, b])
          assert.ok(await cache.signedIn(id, hash, IDLE_MS, fromRedis(messenger, id, hash)));
        assert.equal(cache.size, 2);
        await elsewhere.accounts.endSession(a.id, a.hash);
        await eventually(() => cache.size === 1, 2000, 'the other process’s ending to be heard');
        await messenger.accounts.endAllSessions(b.id);
        assert.equal(cache.size, 0, 'an ending in this process is heard before it returns');
      } finally {
        await elsewhere.close();
      }
    });

    it('while endings may be missed (the pub/sub connection dropped), nothing held is used', async () => {
      const cache = await listeningCache();
      const { id, hash } = await signedInUser(messenger);
      assert.ok(await cache.signedIn(id, hash, IDLE_MS, fromRedis(messenger, id, hash)));
      assert.equal(cache.size, 1);
      await backend().eachMaster((node) => node.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']));
      // The subscriber may be back within a poll: what shows the gap is the entries gone.
      await eventually(() => cache.size === 0, 5000, 'every entry to go with the connection');
      // An ending nobody heard of (the key deleted by hand while the channel was down).
      await backend().raw.del(new Keys(namespace, backend().kind).session(id, hash));
      // On a cluster, node-redis may be rebuilding its node connections just after a
      // pub/sub connection dropped: a read then fails "cannot reach Redis" (the
      // messenger's right answer to that moment, not what this test is about).
      const read = fromRedis(messenger, id, hash);
      const readSoon = async () => {
        for (let tries = 1; ; tries++) {
          try {
            return await read();
          } catch (error) {
            if (!(error instanceof RedisUnavailableError) || tries === 20) throw error;
            await sleep(100);
          }
        }
      };
      assert.equal(await cache.signedIn(id, hash, IDLE_MS, readSoon), null);
      await eventually(() => cache.trusted, 10_000, 'the channel to be heard again');
    });

    it('a session past its absolute end is refused though it is in memory', async () => {
      const cache = await listeningCache();
      const { id, hash } = await signedInUser(messenger, 600);
      assert.ok(await cache.signedIn(id, hash, IDLE_MS, fromRedis(messenger, id, hash)));
      assert.equal(cache.size, 1);
      await sleep(700);
      assert.equal(await cache.signedIn(id, hash, IDLE_MS, fromRedis(messenger, id, hash)), null);
    });

    it(`keeps at most ${MAX_ENTRIES} entries, the oldest going first`, async () => {
      const cache = await listeningCache();
      const { signedIn } = await signedInUser(messenger);
      const ids = Array.from({ length: MAX_ENTRIES + 10 }, () => randomUUID());
      for (const id of ids) await cache.signedIn(id, 'a'.repeat(64), IDLE_MS, async () => signedIn);
      assert.equal(cache.size, MAX_ENTRIES);
      let reads = 0;
      const read = async () => {
        reads++;
        return signedIn;
      };
      await cache.signedIn(ids.at(-1) as string, 'a'.repeat(64), IDLE_MS, read);
      assert.equal(reads, 0, 'the newest is kept');
      await cache.signedIn(ids[0] as string, 'a'.repeat(64), IDLE_MS, read);
      assert.equal(reads, 1, 'the oldest went');
    });
  });
});

describe('a Redis that is down when the cache first listens', () => {
  it('keeps nothing until Redis confirms the channel, then keeps again by itself', async () => {
    const redis = await startRedisServer();
    const messenger = await RedisMessenger.connect({ url: redis.url, commandTimeoutMs: 300 });
    const cache = new SessionCache(messenger.accounts);
    try {
      const { id, hash, signedIn } = await signedInUser(messenger);
      redis.signal('SIGKILL');
      await sleep(100);
      // The read stands for the session as Redis last had it: what is tested is what the
      // cache keeps while it cannot hear endings.
      let reads = 0;
      const read = async () => {
        reads++;
        return signedIn;
      };
      assert.deepEqual(await cache.signedIn(id, hash, IDLE_MS, read), signedIn);
      await sleep(1500);
      assert.deepEqual(await cache.signedIn(id, hash, IDLE_MS, read), signedIn);
      assert.equal(cache.size, 0, 'nothing kept while endings cannot be heard');
      assert.equal(reads, 2);
      await redis.restart();
      // Listening again needs a request after the retry's wait; one every 100 ms.
      const deadline = Date.now() + 15_000;
      while (!cache.trusted && Date.now() < deadline) {
        await cache.signedIn(id, hash, IDLE_MS, read);
        await sleep(100);
      }
      assert.ok(cache.trusted, 'the channel listened to once Redis is back');
      await cache.signedIn(id, hash, IDLE_MS, read);
      const before = reads;
      await cache.signedIn(id, hash, IDLE_MS, read);
      assert.equal(reads, before, 'a known session is kept again');
    } finally {
      await cache.close();
      await messenger.close();
      await redis.stop();
    }
  });
});
