import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, createCluster } from 'redis';
import { keySlot, type RedisCluster, SLOTS, startRedisCluster } from '../support/redis-cluster.js';

/**
 * A node-redis cluster client on `cluster`; errors of dying nodes are collected, not thrown.
 * `commandTimeoutMs` is node-redis's own per-command timeout (default 5 s; 0: none).
 */
async function connect(
  cluster: RedisCluster,
  errors: Error[] = [],
  { commandTimeoutMs }: { commandTimeoutMs?: number } = {},
) {
  const client = createCluster({
    rootNodes: cluster.urls.map((url) => ({ url })),
    ...(commandTimeoutMs === undefined ? {} : { commandOptions: { timeout: commandTimeoutMs } }),
    defaults: { socket: { connectTimeout: 1000 } },
    // How long a node must be reconnecting before the client re-reads the slot map. The
    // default (5 s) keeps commands for a dead master's slots failing that long after the
    // replica took over; MOVED replies cannot help, since the dead node sends none.
    topologyRefreshOnReconnectionAttemptStrategy: 500,
  });
  client.on('error', (error: Error) => errors.push(error));
  await client.connect();
  return client;
}
type Cluster = Awaited<ReturnType<typeof connect>>;

/** Rejects after `ms` with `what` in the message. */
function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** One key in every hash slot: `{<n>}` hash tags until each slot has one. */
function oneKeyPerSlot(): string[] {
  const keys: string[] = [];
  let found = 0;
  for (let n = 0; found < SLOTS; n++) {
    const key = `{${n}}`;
    const slot = keySlot(key);
    if (keys[slot] === undefined) {
      keys[slot] = key;
      found++;
    }
  }
  return keys;
}

/** CLUSTER INFO of a node as field -> value. */
async function clusterInfo(url: string): Promise<Record<string, string>> {
  const direct = createClient({ url });
  await direct.connect();
  try {
    const text = String(await direct.sendCommand(['CLUSTER', 'INFO']));
    return Object.fromEntries(
      text
        .trim()
        .split(/\r?\n/)
        .map((line) => line.split(':') as [string, string]),
    );
  } finally {
    direct.destroy();
  }
}

describe('local Redis Clusters of fewer than 3 masters (joined by hand)', () => {
  let one: RedisCluster;
  let two: RedisCluster;

  before(async () => {
    // Started together: each spends most of its start waiting for the node to turn writable.
    [one, two] = await Promise.all([
      startRedisCluster({ masters: 1 }),
      startRedisCluster({ masters: 2, replicasPerMaster: 1 }),
    ]);
  });
  after(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
  });

  it('serves a key of every slot from its one master', async () => {
    assert.equal(one.nodes.length, 1);
    const [node] = one.nodes;
    assert.equal(node?.role, 'master');
    const info = await clusterInfo(node.url);
    assert.equal(info.cluster_state, 'ok');
    assert.equal(info.cluster_slots_assigned, String(SLOTS));
    assert.equal(info.cluster_known_nodes, '1');

    const keys = oneKeyPerSlot();
    assert.equal(new Set(keys.map(keySlot)).size, SLOTS);
    // 16,384 writes: without node-redis's per-command timer they take a third of the time.
    const client = await connect(one, [], { commandTimeoutMs: 0 });
    const direct = createClient({ url: node.url });
    await direct.connect();
    try {
      // Every write succeeds: a node that did not serve a slot would answer MOVED or CLUSTERDOWN.
      await Promise.all(keys.map((key, slot) => client.set(key, `slot ${slot}`)));
      // Asked directly, the node has every key itself, none redirected elsewhere.
      const sample = keys.filter((_, slot) => slot % 1024 === 0 || slot === SLOTS - 1);
      assert.deepEqual(
        await Promise.all(sample.map((key) => direct.get(key))),
        sample.map((key) => `slot ${keySlot(key)}`),
      );
      assert.equal(await direct.dbSize(), SLOTS);
    } finally {
      client.destroy();
      direct.destroy();
    }
  });

  it('splits the slots between 2 masters, each with a replica in sync', async () => {
    assert.equal(two.nodes.length, 4);
    const masters = two.nodes.filter((node) => node.role === 'master');
    assert.equal(masters.length, 2);
    assert.equal((await two.masterOf(0)).port, masters[0]?.port);
    assert.equal((await two.masterOf(SLOTS - 1)).port, masters[1]?.port);
    for (const node of two.nodes) {
      const info = await clusterInfo(node.url);
      assert.equal(info.cluster_state, 'ok', `node ${node.port}`);
      assert.equal(info.cluster_known_nodes, '4', `node ${node.port}`);
    }
    // Each master has one replica, linked and in sync.
    const replicated: number[] = [];
    for (const node of two.nodes.filter((candidate) => candidate.role === 'replica')) {
      const direct = createClient({ url: node.url });
      await direct.connect();
      try {
        const replication = await direct.info('replication');
        assert.match(replication, /master_link_status:up/);
        replicated.push(Number(/master_port:(\d+)/.exec(replication)?.[1]));
      } finally {
        direct.destroy();
      }
    }
    assert.deepEqual(replicated.sort(), masters.map((node) => node.port).sort());

    const client = await connect(two);
    try {
      const keys = Array.from({ length: 20 }, (_, i) => `key:${i}`);
      await Promise.all(keys.map((key) => client.set(key, key)));
      const owners = await Promise.all(keys.map(async (key) => (await two.nodeForKey(key)).port));
      assert.equal(new Set(owners).size, 2, 'the keys landed on both masters');
      assert.deepEqual(await Promise.all(keys.map((key) => client.get(key))), keys);
    } finally {
      client.destroy();
    }
  });
});

describe('a local Redis Cluster of 3 masters', () => {
  let cluster: RedisCluster;
  let client: Cluster;

  before(async () => {
    cluster = await startRedisCluster();
    client = await connect(cluster);
  });
  after(async () => {
    client?.destroy();
    await cluster?.stop();
  });

  it('has 3 masters on distinct ports and agrees with Redis on key slots', async () => {
    assert.equal(cluster.nodes.length, 3);
    assert.equal(new Set(cluster.nodes.map((node) => node.port)).size, 3);
    assert.ok(cluster.nodes.every((node) => node.role === 'master'));
    assert.deepEqual(
      cluster.urls,
      cluster.nodes.map((node) => `redis://127.0.0.1:${node.port}`),
    );
    for (const key of ['a', 'user:1', '{t}a', 'x{t}y', '{}a', 'a{}{t}', '{', 'ключ']) {
      const slot = await client.sendCommand(undefined, true, ['CLUSTER', 'KEYSLOT', key]);
      assert.equal(keySlot(key), slot, key);
    }
  });

  it('stores keys on every shard, each on the node nodeForKey names', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `key:${i}`);
    for (const key of keys) await client.set(key, `value of ${key}`);
    for (const key of keys) assert.equal(await client.get(key), `value of ${key}`);

    const owners = new Set<number>();
    for (const key of keys) {
      const node = await cluster.nodeForKey(key);
      owners.add(node.port);
      // Asked directly (no cluster client), the named node has the key instead of MOVED.
      const direct = createClient({ url: node.url });
      await direct.connect();
      try {
        assert.equal(await direct.get(key), `value of ${key}`);
      } finally {
        direct.destroy();
      }
    }
    assert.equal(owners.size, 3, 'the keys landed on all three shards');
  });

  it('runs multi-key commands within one slot and refuses them across slots', async () => {
    assert.equal(
      await client.mSet([
        ['{t}a', '1'],
        ['{t}b', '2'],
      ]),
      'OK',
    );
    assert.deepEqual(await client.mGet(['{t}a', '{t}b']), ['1', '2']);

    assert.notEqual(keySlot('a'), keySlot('b'));
    await assert.rejects(
      client.mSetNX([
        ['a', '1'],
        ['b', '2'],
      ]),
      /CROSSSLOT/,
    );
    await assert.rejects(client.rename('{t}a', 'b'), /CROSSSLOT/);
    // node-redis splits MSET/MGET/DEL across slots by itself (one command per slot): it
    // succeeds, but is not atomic. Atomic multi-key steps need one slot (a hash tag).
    assert.equal(
      await client.mSet([
        ['a', '1'],
        ['b', '2'],
      ]),
      'OK',
    );
  });

  it('delivers sharded pub/sub (SSUBSCRIBE, SPUBLISH) on each shard', async () => {
    // Channels on different shards, so more than one shard's pub/sub connection is used.
    const channels: string[] = [];
    const shards = new Set<number>();
    for (let i = 0; shards.size < 3; i++) {
      const node = await cluster.masterOf(keySlot(`room:${i}`));
      if (shards.has(node.port)) continue;
      shards.add(node.port);
      channels.push(`room:${i}`);
    }
    const received: string[] = [];
    let allReceived = () => {};
    const all = new Promise<void>((resolve) => {
      allReceived = resolve;
    });
    const listener = (message: string, channel: string) => {
      received.push(`${channel}=${message}`);
      if (received.length === channels.length) allReceived();
    };
    // sSubscribe resolves once the server confirmed, so nothing published after is missed.
    for (const channel of channels) await client.sSubscribe(channel, listener);
    for (const channel of channels) {
      assert.equal(await client.sPublish(channel, `hello ${channel}`), 1);
    }
    await within(2000, 'sharded messages', all);
    assert.deepEqual(
      received.sort(),
      channels.map((channel) => `${channel}=hello ${channel}`).sort(),
    );
    for (const channel of channels) await client.sUnsubscribe(channel);
  });
});

describe('a local Redis Cluster with a replica per master', () => {
  let cluster: RedisCluster;
  let client: Cluster;
  const errors: Error[] = [];

  before(async () => {
    cluster = await startRedisCluster({ replicasPerMaster: 1 });
    client = await connect(cluster, errors);
  });
  after(async () => {
    client?.destroy();
    await cluster?.stop();
  });

  it('follows a replica promoted after its master is killed', async (t) => {
    assert.equal(cluster.nodes.length, 6);
    assert.equal(cluster.nodes.filter((node) => node.role === 'master').length, 3);

    const key = 'failover:key';
    await client.set(key, 'before');
    // Replication is asynchronous: wait until a replica has the write, so it survives.
    assert.equal(await client.sendCommand(key, false, ['WAIT', '1', '2000']), 1);

    const victim = await cluster.nodeForKey(key);
    const killedAt = Date.now();
    victim.signal('SIGKILL');
    const promoted = cluster.waitForStable().then(
      () => Date.now() - killedAt,
      (error: Error) => error,
    );

    // Retry until the client reads and writes the key again; each try is bounded, since a
    // command sent to the dead node waits in its offline queue.
    let recoveredAfter: number | undefined;
    let lastError: unknown;
    while (Date.now() - killedAt < 15_000) {
      try {
        assert.equal(await within(1000, 'GET', client.get(key)), 'before');
        await within(1000, 'SET', client.set(key, 'after'));
        recoveredAfter = Date.now() - killedAt;
        break;
      } catch (error) {
        lastError = error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    assert.ok(
      recoveredAfter !== undefined,
      `no recovery within 15 s: ${String(lastError)}; last client errors: ${errors.slice(-3).join(', ')}`,
    );
    const promotedAfter = await promoted;
    assert.equal(typeof promotedAfter, 'number', String(promotedAfter));
    t.diagnostic(`the replica was promoted (cluster stable) ${promotedAfter} ms after the kill`);
    t.diagnostic(`the client read and wrote the key again ${recoveredAfter} ms after the kill`);
    assert.equal(await client.get(key), 'after');

    const master = await cluster.nodeForKey(key);
    assert.notEqual(master.port, victim.port);
    assert.equal(master.role, 'master');
    assert.equal(victim.alive, false);

    // Restarted, the old master keeps its identity (nodes.conf) and rejoins as a replica.
    await victim.restart();
    // Until the cluster bus tells it about the promotion, it may still call itself master.
    const deadline = Date.now() + 10_000;
    do {
      await cluster.waitForStable();
      if (victim.role === 'replica') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } while (Date.now() < deadline);
    assert.equal(victim.role, 'replica');
    assert.equal((await cluster.nodeForKey(key)).port, master.port);
  });
});
