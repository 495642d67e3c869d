/**
 * waitForReplicas: a send is acknowledged only once that many replicas have it (Redis
 * WAIT), and otherwise fails in a way that says a retry with the same id is safe.
 * (On a cluster, the failover test in test/faults measures what this saves.)
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { Keys } from '../src/core/keys.js';
import {
  isUnconfirmed,
  NotReplicatedError,
  RedisMessenger,
  ValidationError,
} from '../src/index.js';
import { type RedisCluster, startRedisCluster } from './support/redis-cluster.js';
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

/**
 * Resolves once a write made on the primary now reaches its replica and is acknowledged:
 * the real condition, where "listed online" is not enough (after a diskless sync the
 * primary holds the stream back until the replica's first acknowledgement, up to a
 * second later) and a sleep is a guess.
 */
async function replicaCaughtUp(url: string): Promise<void> {
  const probe = createClient({ url });
  await probe.connect();
  try {
    await probe.set(`caught-up-probe-${randomUUID()}`, '1', { PX: 60_000 });
    const reached = Number(await probe.sendCommand(['WAIT', '1', '15000']));
    assert.equal(reached, 1, 'the replica did not acknowledge a write within 15 s');
  } finally {
    probe.destroy();
  }
}

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
      await replicaCaughtUp(primary.url);
      // The replica has everything now: the retry is acknowledged on its first attempt.
      assert.equal(await m.sendMessage(a, b, 'keep me', { messageId }), messageId);
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

  it('a retry that stores nothing, from a new connection, still waits for the message itself', async () => {
    replica ??= await startRedisServer(['--replicaof', '127.0.0.1', String(primary.port)]);
    const namespace = `retry-${randomUUID()}`;
    const options = { url: primary.url, namespace, waitForReplicas: 1, replicaTimeoutMs: 300 };
    const first = await RedisMessenger.connect(options);
    const stuck = replica;
    try {
      const [a, b] = [await first.createUser('a'), await first.createUser('b')];
      await replicaCaughtUp(primary.url);
      stuck.signal('SIGSTOP'); // listed online still, and acknowledges nothing
      const messageId = randomUUID();
      await assert.rejects(first.sendMessage(a, b, 'only here', { messageId }), NotReplicatedError);

      // Another process retries: its connection has written nothing of its own, so a bare
      // WAIT would count the frozen replica and acknowledge a message it does not have.
      const second = await RedisMessenger.connect(options);
      try {
        await assert.rejects(
          second.sendMessage(a, b, 'only here', { messageId }),
          NotReplicatedError,
        );
        stuck.signal('SIGCONT');
        await replicaCaughtUp(primary.url);
        assert.equal(await second.sendMessage(a, b, 'only here', { messageId }), messageId);
        assert.equal((await second.listUserMessages(b)).messages.length, 1, 'stored once');
      } finally {
        await second.close();
      }
      // The mark that made it wait expires on its own.
      const probe = createClient({ url: primary.url });
      await probe.connect();
      try {
        const mark = new Keys(namespace).replicationMark(new Keys(namespace).message(messageId, b));
        const ttl = await probe.pTTL(mark);
        assert.ok(ttl > 0 && ttl <= 60_000, `the mark's TTL is ${ttl}`);
      } finally {
        probe.destroy();
      }
    } finally {
      stuck.signal('SIGCONT');
      await first.close();
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

describe('waitForReplicas on a Redis Cluster', () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  });
  after(async () => {
    await cluster?.stop();
  });

  /** The replica that follows the master on `port`. */
  async function replicaOf(port: number) {
    for (const node of cluster.nodes.filter((n) => n.role === 'replica')) {
      const probe = createClient({ url: node.url });
      await probe.connect();
      const info = await probe.info('replication');
      probe.destroy();
      if (info.includes(`master_port:${port}`)) return node;
    }
    throw new Error(`no replica follows ${port}`);
  }

  it('waits only on the shards a send wrote to: a shard without its replica refuses only its own sends', async () => {
    const namespace = `wait-${randomUUID()}`;
    const keys = new Keys(namespace, 'cluster');
    const m = await RedisMessenger.connect({
      cluster: [...cluster.urls],
      namespace,
      waitForReplicas: 1,
      replicaTimeoutMs: 300,
    });
    const stuck = { signal: (_: NodeJS.Signals) => {} };
    try {
      const users: string[] = [];
      for (let i = 0; i < 12; i++) users.push(await m.createUser(`u${i}`));
      const [victim, other] = users as [string, string];
      const port = async (key: string) => (await cluster.nodeForKey(key)).port;
      // The shard of the victim's keys will lose its replica.
      const troubled = await port(keys.user(victim));
      // A pair of users whose keys (their messages' too) live on the other shards.
      let healthy: { from: string; to: string; id: string } | undefined;
      for (const from of users) {
        for (const to of users) {
          if (healthy || from === to) continue;
          const ports = await Promise.all([keys.user(from), keys.user(to)].map(port));
          if (!ports.includes(troubled)) healthy = { from, to, id: randomUUID() };
        }
      }
      assert.ok(healthy, 'no pair of users away from the troubled shard');

      const replica = await replicaOf(troubled);
      stuck.signal = (signal) => replica.signal(signal);
      replica.signal('SIGSTOP'); // it acknowledges nothing now
      const started = Date.now();
      await m.sendMessage(healthy.from, healthy.to, 'away from the trouble', {
        messageId: healthy.id,
      });
      assert.ok(Date.now() - started < 250, `took ${Date.now() - started} ms`);
      // A send into the troubled shard is refused, saying a retry is safe; while it waits,
      // reads through the same messenger, of that very shard, are not held up behind it.
      const refused = assert.rejects(
        m.sendMessage(other, victim, 'into the trouble'),
        NotReplicatedError,
      );
      await new Promise((resolve) => setTimeout(resolve, 50)); // its WAIT is under way
      const reading = Date.now();
      await m.listUserMessages(victim);
      await m.getUser(victim);
      assert.ok(Date.now() - reading < 150, `reads took ${Date.now() - reading} ms`);
      await refused;
    } finally {
      stuck.signal('SIGCONT');
      await m.close();
    }
  });
});
