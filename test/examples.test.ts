/**
 * The examples run as a reader would run them (`npx tsx examples/<file>.ts` with
 * REDIS_URL), against a throwaway Redis: they import the package by its name, end without
 * a stack trace when run out of order, and write where the CLI can read with --namespace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { main } from '../src/cli/main.js';
import { capture } from './support/capture.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';

let server: RedisServer;
before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await server?.stop();
});

function example(file: string) {
  const { REDIS_CLUSTER: _, ...env } = process.env;
  return spawnSync(process.execPath, ['--import', 'tsx', `examples/${file}`], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...env, REDIS_URL: server.url },
  });
}

describe('examples', () => {
  it('import redis-messenger by its name, as their README says', () => {
    for (const file of ['quick-start.ts', 'live-inbox.ts', 'safe-retry.ts']) {
      const source = spawnSync('grep', ['-c', "from 'redis-messenger'", `examples/${file}`], {
        encoding: 'utf8',
      });
      assert.equal(source.stdout.trim(), '1', file);
    }
  });

  it('live-inbox.ts run first: one line saying what to run, exit 1, no stack trace', () => {
    const result = example('live-inbox.ts');
    assert.equal(result.status, 1, result.stderr);
    assert.equal(
      result.stderr,
      'Alice and Bob do not exist yet: run examples/quick-start.ts first\n',
    );
  });

  it('quick-start, then live-inbox and safe-retry; the CLI reads what they wrote', async () => {
    const quick = example('quick-start.ts');
    assert.equal(quick.status, 0, quick.stderr);
    assert.match(quick.stdout, /Hello, Bob!/);
    const live = example('live-inbox.ts');
    assert.equal(live.status, 0, live.stderr);
    assert.match(live.stdout, /Alice: live message 3\n/);
    const retry = example('safe-retry.ts');
    assert.equal(retry.status, 0, retry.stderr);
    assert.match(retry.stdout, /stored 1 time\(s\)/);

    const captured = capture();
    const code = await main(
      ['inbox', 'Bob', '--namespace', 'example', '--redis', server.url],
      captured.output,
    );
    assert.equal(code, 0, captured.stderr());
    assert.match(captured.stdout(), /Alice: Hello, Bob!/);
    assert.match(captured.stdout(), /Alice: exactly once/);
  });

  it('--namespace is checked as the library checks it: a usage error', async () => {
    const captured = capture();
    const code = await main(['user', 'list', '--namespace', 'a:b'], captured.output);
    assert.equal(code, 2);
    assert.match(captured.stderr(), /namespace must be 1 to 64 letters/);
  });
});
