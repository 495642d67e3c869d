import assert from 'node:assert/strict';
import './support/config-home.js';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { main } from '../src/cli/main.js';
import { RedisMessenger } from '../src/index.js';
import { capture } from './support/capture.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';

let server: RedisServer;

before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await server?.stop();
});

async function run(...argv: string[]) {
  const captured = capture();
  const code = await main(argv, captured.output);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

describe('messenger demo', () => {
  it('does what the original main() did, and runs again on the same Redis', async () => {
    const first = await run('demo', '--redis', server.url);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Created user Alice [0-9a-f-]{36}/);
    assert.match(first.stdout, /Created user Bob [0-9a-f-]{36}/);
    assert.match(
      first.stdout,
      /Bob's messages:\n {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}Alice: Hello, Bob!\n/,
    );
    assert.match(
      first.stdout,
      /All users:\n {2}Alice {2}[0-9a-f-]{36}\n {2}Bob {4}[0-9a-f-]{36}\n/,
    );
    // One line, and only one, says which Redis it writes to and why that one.
    assert.equal(first.stderr, `Using the Redis at ${server.url} (given with --redis).\n`);

    const second = await run('--redis', server.url, 'demo');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /Found user Alice/);
    // Running it again adds no second "Hello, Bob!".
    assert.equal(second.stdout.match(/Alice: Hello, Bob!/g)?.length, 1, second.stdout);
    assert.match(second.stdout, /sent before: stored once/);
  });

  it('says which Redis it uses when it comes from REDIS_URL', async () => {
    const saved = process.env.REDIS_URL;
    process.env.REDIS_URL = server.url;
    try {
      const result = await run('demo');
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(`^Using the Redis at ${server.url} \\(the URL is the one in REDIS_URL`),
      );
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
    }
  });

  it('prints no colour codes when the output is not a terminal', async () => {
    const result = await run('demo', '--redis', server.url);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for escape codes
    assert.doesNotMatch(result.stdout, /\u001b\[/);
  });
});

describe('errors and exit codes', () => {
  it('Redis down: one line, exit 1, no stack trace, quickly', async () => {
    const start = Date.now();
    const result = await run('demo', '--redis', 'redis://127.0.0.1:1');
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /^error: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
    assert.ok(Date.now() - start < 5000);
  });

  it('Redis down: "is it running" once, and where the URL came from', async () => {
    const result = await run('user', 'list', '--redis', 'redis://127.0.0.1:1');
    assert.equal(result.stderr.match(/running/g)?.length, 1, result.stderr);
    assert.match(result.stderr, /\(check the URL given with --redis\)$/m);
  });

  it('Redis refuses (wrong or no password, no such database, maxclients): what Redis said and what to do', async () => {
    const guarded = await startRedisServer(['--requirepass', 'open-sesame']);
    const full = await startRedisServer(['--maxclients', '1']);
    const holder = createClient({ url: full.url });
    await holder.connect();
    try {
      const cases: [string, RegExp][] = [
        [`redis://:wrong@127.0.0.1:${guarded.port}`, /WRONGPASS.*check the user name and password/],
        [guarded.url, /NOAUTH.*needs a password/],
        [
          `redis://:open-sesame@127.0.0.1:${guarded.port}/99`,
          /DB index is out of range.*database number/,
        ],
        [full.url, /max number of clients reached.*maxclients/],
      ];
      for (const [url, said] of cases) {
        const result = await run('user', 'list', '--redis', url);
        assert.equal(result.code, 1, result.stderr);
        assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
        assert.match(result.stderr, /^error: Redis at redis:\/\/.* refused the connection: /);
        assert.match(result.stderr, said);
        assert.doesNotMatch(result.stderr, /cannot reach|is it running|wrong@|open-sesame/);
        assert.doesNotMatch(result.stderr, /\n\s+at /);
      }
    } finally {
      holder.destroy();
      await full.stop();
      await guarded.stop();
    }
  });

  it('a URL from REDIS_URL: a malformed one, or one that does not answer, names REDIS_URL', async () => {
    const saved = process.env.REDIS_URL;
    try {
      process.env.REDIS_URL = 'garbage';
      const bad = await run('user', 'list');
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /^error: REDIS_URL: the Redis URL is not a valid URL/);
      process.env.REDIS_URL = 'redis://127.0.0.1:1';
      const down = await run('user', 'list');
      assert.equal(down.code, 1, down.stderr);
      assert.match(
        down.stderr,
        /^error: cannot reach Redis at redis:\/\/127\.0\.0\.1:1.*REDIS_URL/,
      );
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
    }
  });

  it('--verbose adds the stack trace', async () => {
    const result = await run('demo', '--redis', 'redis://127.0.0.1:1', '--verbose');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\n\s+at /);
  });

  it('usage errors exit 2: unknown command, malformed URL', async () => {
    const unknown = await run('bogus');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'bogus'/);
    const badUrl = await run('demo', '--redis', 'not a url');
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /^error: the Redis URL is not a valid URL/);
    const secret = await run('demo', '--redis', 'redis://u:s3cret@127.0.0.1:99999');
    assert.equal(secret.code, 2);
    assert.doesNotMatch(secret.stderr, /s3cret/);
  });

  it('--help exits 0 and shows an example', async () => {
    const help = await run('demo', '--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Example:\n {2}\$ messenger demo/);
  });
});

describe('the installed command', () => {
  it('a closed standard output (| head -1) ends the command quietly, exit 0', async () => {
    // 1000 lines are more than a pipe holds: the command is still writing when head exits.
    const namespace = 'closed-stdout';
    const m = await RedisMessenger.connect({ url: server.url, namespace });
    try {
      for (let i = 0; i < 1000; i += 100) {
        await Promise.all(Array.from({ length: 100 }, (_, j) => m.createUser(`reader${i + j}`)));
      }
    } finally {
      await m.close();
    }
    const command = `set -o pipefail; "${process.execPath}" --import tsx src/cli/bin.ts user list --limit 1000 --namespace ${namespace} --redis ${server.url} | head -1`;
    for (let run = 0; run < 2; run++) {
      const result = spawnSync('bash', ['-c', command], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(result.stderr, '');
      assert.equal(result.status, 0);
      assert.match(result.stdout, /^reader0 +[0-9a-f-]{36}/);
    }
  });

  it('runs as a process and sets its exit code', () => {
    const ok = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/bin.ts', 'demo', '--redis', server.url],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /Hello, Bob!/);
    const down = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/bin.ts', 'demo', '--redis', 'redis://127.0.0.1:1'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(down.status, 1);
    assert.match(down.stderr, /cannot reach Redis/);
  });
});
