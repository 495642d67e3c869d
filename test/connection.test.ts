import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import {
  isUnconfirmed,
  RedisMessenger,
  RedisRefusedError,
  RedisTimeoutError,
  RedisUnavailableError,
  ValidationError,
} from '../src/index.js';
import { freePort, type RedisServer, startRedisServer } from './support/redis-server.js';

async function elapsed<T>(work: () => Promise<T>): Promise<[PromiseSettledResult<T>, number]> {
  const start = Date.now();
  const [result] = await Promise.allSettled([work()]);
  return [result as PromiseSettledResult<T>, Date.now() - start];
}

describe('connecting', () => {
  it('rejects at once with a clear error when nothing listens', async () => {
    const port = await freePort();
    const [result, ms] = await elapsed(() =>
      RedisMessenger.connect({ url: `redis://127.0.0.1:${port}` }),
    );
    assert.equal(result.status, 'rejected');
    const error = (result as PromiseRejectedResult).reason;
    assert.ok(error instanceof RedisUnavailableError, String(error));
    assert.match(error.message, new RegExp(`cannot reach Redis at redis://127.0.0.1:${port}`));
    assert.ok(ms < 3000, `took ${ms} ms`);
  });

  it('never prints the password of a URL', async () => {
    const port = await freePort();
    const [result] = await elapsed(() =>
      RedisMessenger.connect({ url: `redis://user:hunter2secret@127.0.0.1:${port}` }),
    );
    const error = (result as PromiseRejectedResult).reason as Error;
    assert.ok(error instanceof RedisUnavailableError);
    assert.ok(!error.message.includes('hunter2secret'), error.message);
  });

  it('refuses malformed URLs and options before connecting', async () => {
    await assert.rejects(RedisMessenger.connect({ url: 'not a url' }), ValidationError);
    await assert.rejects(RedisMessenger.connect({ url: 'http://127.0.0.1:6379' }), ValidationError);
    await assert.rejects(
      RedisMessenger.connect({ url: 'redis://x', namespace: 'a:b' }),
      ValidationError,
    );
    await assert.rejects(
      RedisMessenger.connect({ url: 'redis://x', commandTimeoutMs: 0 }),
      ValidationError,
    );
    await assert.rejects(
      RedisMessenger.connect({ url: 'redis://x', maxTextLength: -1 }),
      ValidationError,
    );
  });
});

describe('when Redis answers and refuses the connection', () => {
  let guarded: RedisServer;
  before(async () => {
    guarded = await startRedisServer(['--requirepass', 'open-sesame']);
  });
  after(async () => {
    await guarded?.stop();
  });

  /** The error connect rejects with, checked to be a refusal, not "unreachable". */
  async function refusal(options: Parameters<typeof RedisMessenger.connect>[0]) {
    const [result, ms] = await elapsed(() => RedisMessenger.connect(options));
    assert.equal(result.status, 'rejected');
    const error = (result as PromiseRejectedResult).reason;
    assert.ok(error instanceof RedisRefusedError, String(error));
    assert.ok(!(error instanceof RedisUnavailableError));
    assert.equal(isUnconfirmed(error), false, 'a refused connection wrote nothing');
    assert.doesNotMatch(error.message, /is it running/);
    assert.ok(ms < 3000, `took ${ms} ms`);
    return error;
  }

  it('a wrong password: WRONGPASS, said as Redis said it, and no password in the message', async () => {
    const error = await refusal({ url: `redis://:not-it@127.0.0.1:${guarded.port}` });
    assert.equal(error.reason, 'wrong-password');
    assert.match(error.redisSaid, /^WRONGPASS/);
    assert.match(
      error.message,
      /refused the connection: WRONGPASS .*check the user name and password/,
    );
    assert.doesNotMatch(error.message, /not-it/);
  });

  it('no password where one is required: NOAUTH', async () => {
    const error = await refusal({ url: guarded.url });
    assert.equal(error.reason, 'password-required');
    assert.match(error.message, /NOAUTH.*needs a password/);
  });

  it('a database number Redis does not have', async () => {
    const error = await refusal({ url: `redis://:open-sesame@127.0.0.1:${guarded.port}/99` });
    assert.equal(error.reason, 'no-such-database');
    assert.match(error.message, /DB index is out of range.*database number/);
  });

  it('the right password connects', async () => {
    const m = await RedisMessenger.connect({
      url: `redis://:open-sesame@127.0.0.1:${guarded.port}`,
    });
    await m.close();
  });

  it('a wrong password on a cluster URL is a refusal too', async () => {
    const error = await refusal({ cluster: [`redis://:not-it@127.0.0.1:${guarded.port}`] });
    assert.equal(error.reason, 'wrong-password');
  });

  it('at its connection limit (maxclients): what Redis said, not "cannot reach"', async () => {
    const full = await startRedisServer(['--maxclients', '1']);
    const holder = createClient({ url: full.url });
    await holder.connect();
    try {
      const error = await refusal({ url: full.url });
      assert.equal(error.reason, 'max-clients');
      assert.match(error.message, /max number of clients reached.*maxclients/);
    } finally {
      holder.destroy();
      await full.stop();
    }
  });
});

describe('when Redis fails under a connected messenger', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('a paused Redis makes calls time out instead of hanging; work resumes after', async () => {
    const m = await RedisMessenger.connect({
      url: server.url,
      namespace: 'paused',
      commandTimeoutMs: 400,
    });
    try {
      const a = await m.createUser('a');
      server.signal('SIGSTOP');
      const [result, ms] = await elapsed(() => m.getUser(a));
      server.signal('SIGCONT');
      assert.equal(result.status, 'rejected');
      assert.ok((result as PromiseRejectedResult).reason instanceof RedisTimeoutError);
      assert.ok(ms >= 350 && ms < 1500, `took ${ms} ms`);
      assert.equal((await m.getUser(a))?.username, 'a');
    } finally {
      server.signal('SIGCONT');
      await m.close();
    }
  });

  it('a Redis that goes away gives a clear error within the timeout; it reconnects when Redis is back', async () => {
    const errors: Error[] = [];
    const m = await RedisMessenger.connect({
      url: server.url,
      namespace: 'restart',
      commandTimeoutMs: 500,
      onConnectionError: (error) => errors.push(error),
    });
    try {
      server.signal('SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      const [result, ms] = await elapsed(() => m.createUser('during-outage'));
      assert.equal(result.status, 'rejected');
      const error = (result as PromiseRejectedResult).reason;
      assert.ok(
        error instanceof RedisUnavailableError || error instanceof RedisTimeoutError,
        String(error),
      );
      assert.ok(ms < 1500, `took ${ms} ms`);
      assert.ok(errors.length > 0, 'connection errors were not reported');
      await server.restart();
      let id: string | undefined;
      for (let i = 0; i < 50 && !id; i++) {
        id = await m.createUser('after-restart').catch(() => undefined);
        if (!id) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(id, 'never worked again after the restart');
      // The script cache was emptied by the restart: the first call fell back to EVAL.
      assert.equal((await m.findUserByUsername('after-restart'))?.id, id);
    } finally {
      await m.close();
    }
  });

  it('a closed messenger refuses calls with a clear error', async () => {
    const m = await RedisMessenger.connect({ url: server.url, namespace: 'closed' });
    await m.close();
    await m.close();
    await assert.rejects(m.createUser('x'), /closed/);
  });
});
