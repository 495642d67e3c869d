/**
 * waitForReplicas: a send is acknowledged only once that many replicas have it (Redis
 * WAIT), and otherwise fails in a way that says a retry with the same id is safe.
 * (On a cluster, the failover test in test/faults measures what this saves.)
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  isUnconfirmed,
  NotReplicatedError,
  RedisMessenger,
  ValidationError,
} from '../src/index.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';

let primary: RedisServer;
let replica: RedisServer | undefined;

before(async () => {
  // A primary otherwise waits 5 s for more replicas before it starts a diskless sync.
  primary = await startRedisServer(['--repl-diskless-sync-delay', '0']);
});
after(async () => {
  await replica?.stop();
  await primary?.stop();
});

describe('waitForReplicas', () => {
  it('refuses to acknowledge without a replica, then acknowledges once one has the message', async () => {
    const namespace = `replicas-${randomUUID()}`;
    const m = await RedisMessenger.connect({
      url: primary.url,
      namespace,
      waitForReplicas: 1,
      replicaTimeoutMs: 200,
    });
    try {
      const [a, b] = [await m.createUser('a'), await m.createUser('b')];
      const messageId = randomUUID();
      const started = Date.now();
      const error = await m.sendMessage(a, b, 'keep me', { messageId }).catch((e: unknown) => e);
      assert.ok(error instanceof NotReplicatedError, String(error));
      assert.ok(isUnconfirmed(error));
      assert.match(error.message, /0 of 1 replica/);
      assert.ok(Date.now() - started >= 190, 'it waited for the replica');
      // Stored on the primary all the same: the retry below must not store it twice.
      assert.equal((await m.listUserMessages(b)).messages.length, 1);

      replica = await startRedisServer(['--replicaof', '127.0.0.1', String(primary.port)]);
      // The replica needs a moment to sync; until then the retry fails the same way.
      let acknowledged = false;
      const retry = async () => {
        acknowledged = await m.sendMessage(a, b, 'keep me', { messageId }).then(
          () => true,
          (e: unknown) => (e instanceof NotReplicatedError ? false : Promise.reject(e)),
        );
        return acknowledged;
      };
      for (let attempt = 0; attempt < 50 && !(await retry()); attempt++);
      assert.ok(acknowledged, 'the send was acknowledged once a replica followed');
      const { messages } = await m.listUserMessages(b);
      assert.deepEqual(
        messages.map((x) => x.id),
        [messageId],
      );
      assert.equal((await m.unreadCount(b)).total, 1);
      // And a new message is acknowledged at once.
      assert.ok(await m.sendMessage(a, b, 'second'));
    } finally {
      await m.close();
    }
  });

  it('refuses a negative or fractional count', async () => {
    for (const waitForReplicas of [-1, 1.5, '1']) {
      await assert.rejects(
        RedisMessenger.connect({ url: primary.url, waitForReplicas: waitForReplicas as number }),
        ValidationError,
      );
    }
  });
});
