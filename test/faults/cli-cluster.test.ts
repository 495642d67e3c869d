/**
 * The CLI on a Redis Cluster: every command with --cluster (and REDIS_CLUSTER), and two
 * live chats talking through the cluster's sharded doorbells.
 */
import '../support/config-home.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { RedisMessenger } from '../../src/index.js';
import { capture } from '../support/capture.js';
import { killAllChats, ready, withChats } from '../support/chat-process.js';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.js';

let cluster: RedisCluster;
/** The nodes as --cluster takes them: host:port, comma-separated. */
let nodes: string;

before(async () => {
  cluster = await startRedisCluster();
  nodes = cluster.urls.map((url) => new URL(url).host).join(',');
});
after(async () => {
  killAllChats();
  await cluster?.stop();
});

async function run(...argv: string[]) {
  const captured = capture();
  const code = await main(argv, captured.output);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

describe('messenger --cluster', () => {
  it('runs the commands on a Redis Cluster', async () => {
    const ok = async (...argv: string[]) => {
      const result = await run('--cluster', nodes, ...argv);
      assert.equal(result.code, 0, `${argv.join(' ')}: ${result.stderr}`);
      return result.stdout;
    };
    await ok('user', 'create', 'ann');
    await ok('user', 'create', 'ben');
    const taken = await run('--cluster', nodes, 'user', 'create', 'ANN');
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /taken/);
    await ok('send', 'ann', 'ben', 'hello over the cluster');
    const inbox = JSON.parse(await ok('inbox', 'ben', '--json')) as {
      messages: { text: string; seen: boolean }[];
    };
    assert.deepEqual(
      inbox.messages.map((m) => [m.text, m.seen]),
      [['hello over the cluster', false]],
    );
    assert.match(await ok('conversation', 'ann', 'ben'), /hello over the cluster/);
    assert.match(await ok('conversations', 'ben'), /ann/);
    await ok('seen', 'ben', '--from', 'ann');
    assert.match(await ok('inbox', 'ben', '--unread'), /no unread messages/);
    await ok('contacts', 'add', 'ann', 'ben');
    assert.match(await ok('contacts', 'list', 'ann'), /ben/);
    assert.match(await ok('user', 'list'), /ann[\s\S]*ben/);
    await ok('reindex');
  });

  it('takes REDIS_CLUSTER from the environment, and prints hints with --cluster', async () => {
    const saved = process.env.REDIS_CLUSTER;
    process.env.REDIS_CLUSTER = nodes;
    try {
      const result = await run('user', 'create', 'env-user');
      assert.equal(result.code, 0, result.stderr);
    } finally {
      if (saved === undefined) delete process.env.REDIS_CLUSTER;
      else process.env.REDIS_CLUSTER = saved;
    }
    const library = await RedisMessenger.connect({ cluster: [...cluster.urls] });
    try {
      assert.ok(await library.findUserByUsername('env-user'));
      const [from, to] = [await library.createUser('pager'), await library.createUser('paged')];
      for (let i = 0; i < 3; i++) await library.sendMessage(from, to, `page ${i}`);
    } finally {
      await library.close();
    }
    const page = await run('--cluster', nodes, 'inbox', 'paged', '--limit', '2');
    assert.equal(page.code, 0, page.stderr);
    assert.match(
      page.stderr,
      /older: messenger inbox paged --limit 2 --before \S+ --cluster redis:/,
    );
  });

  it('refuses --redis with --cluster, and bad node lists, before connecting', async () => {
    const both = await run('--cluster', nodes, '--redis', 'redis://127.0.0.1:1', 'user', 'list');
    assert.equal(both.code, 2);
    assert.match(both.stderr, /not both/);
    for (const bad of ['', ' , ', 'nohost', 'host:0', 'host:99999', 'http://host:1']) {
      const result = await run('--cluster', bad, 'user', 'list');
      assert.equal(result.code, 2, `accepted ${JSON.stringify(bad)}`);
      assert.match(result.stderr, /^error: option '--cluster <nodes>' .*host:port/);
    }
  });
});

describe('messenger chat --cluster', () => {
  it('delivers live both ways between two chats', async () => {
    const library = await RedisMessenger.connect({ cluster: [...cluster.urls] });
    try {
      await library.createUser('cara');
      await library.createUser('dan');
    } finally {
      await library.close();
    }
    await withChats({ cluster: nodes }, ['cara', 'dan'], async (cara, dan) => {
      await Promise.all([ready(cara), ready(dan)]);
      await cara.command('/to dan', /dan/);
      let since = dan.mark();
      cara.send('hi dan, via the cluster');
      await dan.waitFor('hi dan, via the cluster', since);
      await dan.command('/to cara', /cara/);
      since = cara.mark();
      dan.send('hello cara');
      await cara.waitFor('hello cara', since);
    });
  });
});
