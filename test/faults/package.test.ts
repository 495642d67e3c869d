/**
 * The package as its users get it: packed from a copy of this checkout without dist/ (as
 * a fresh clone is, and as `npm install git+...` packs it), installed from the tarball
 * into an empty project, then its `messenger` command and its library used from there.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let work: string;
let app: string;
let files: string[];
let server: RedisServer;

/** Runs npm with a quiet, offline-first setup: the dependencies are in npm's cache after `npm ci`. */
function npm(args: string[], cwd: string): string {
  return execFileSync('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

before(async () => {
  server = await startRedisServer();
  work = mkdtempSync(join(tmpdir(), 'redis-messenger-package-'));
  // What a clone holds: the files git tracks (and new ones it would), never dist/.
  const clone = join(work, 'clone');
  const listed = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  for (const file of listed.split('\0').filter(Boolean)) {
    if (!existsSync(join(ROOT, file))) continue; // deleted in the work tree
    mkdirSync(dirname(join(clone, file)), { recursive: true });
    cpSync(join(ROOT, file), join(clone, file));
  }
  // The development dependencies a clone would install (`npm ci`), without the download.
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', work], clone)) as {
    filename: string;
    files: { path: string }[];
  }[];
  files = (packed[0]?.files ?? []).map((f) => f.path);
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    '{ "name": "app", "private": true, "type": "module" }\n',
  );
  npm(['install', join(work, packed[0]?.filename ?? 'missing.tgz')], app);
});
after(async () => {
  if (work) rmSync(work, { recursive: true, force: true });
  await server?.stop();
});

function messenger(...argv: string[]) {
  return spawnSync(join(app, 'node_modules', '.bin', 'messenger'), argv, {
    cwd: app,
    encoding: 'utf8',
    timeout: 20_000,
  });
}

describe('the packed package', () => {
  it('holds the built code, the CLI docs and the licence; no source maps', () => {
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/bin.js',
      'LICENSE',
      'README.md',
      'docs/cli.md',
      'package.json',
    ]) {
      assert.ok(files.includes(file), `${file} is not in the package: ${files.join(', ')}`);
    }
    assert.ok(
      files.some((f) => /^dist\/core\/scripts\/.+\.lua$/.test(f)),
      'no Lua scripts',
    );
    assert.deepEqual(
      files.filter((f) => f.endsWith('.map')),
      [],
      'source maps of unshipped sources',
    );
    assert.deepEqual(
      files.filter((f) => f.startsWith('src/') || f.startsWith('test/')),
      [],
    );
  });

  it('installed: messenger --help exits 0 and points at docs that exist', () => {
    const help = messenger('--help');
    assert.equal(help.status, 0, help.stderr);
    const docs = /More: (\S+)/.exec(help.stdout)?.[1];
    assert.ok(docs && existsSync(docs), `--help points at ${docs}, which is not there`);
    assert.ok(docs.startsWith(join(app, 'node_modules', 'redis-messenger')), docs);
  });

  it('installed: a usage error exits 2, Redis down exits 1, the demo runs (exit 0)', () => {
    const usage = messenger('bogus');
    assert.equal(usage.status, 2, usage.stderr);
    assert.match(usage.stderr, /^error: unknown command 'bogus'/);
    const badLimit = messenger('user', 'list', '--limit', '0');
    assert.equal(badLimit.status, 2, badLimit.stderr);
    const down = messenger('user', 'list', '--redis', 'redis://127.0.0.1:1');
    assert.equal(down.status, 1, down.stderr);
    const demo = messenger('demo', '--redis', server.url);
    assert.equal(demo.status, 0, demo.stderr);
    assert.match(demo.stdout, /Alice: Hello, Bob!/);
  });

  it('installed: the library imports by name', () => {
    const script = `
      import { RedisMessenger, RedisRefusedError, isUnconfirmed } from 'redis-messenger';
      const m = await RedisMessenger.connect({ url: ${JSON.stringify(server.url)}, namespace: 'installed' });
      const a = await m.createUser('a');
      const b = await m.createUser('b');
      await m.sendMessage(a, b, 'from the installed package');
      console.log((await m.listUserMessages(b)).messages[0].text, typeof RedisRefusedError, typeof isUnconfirmed);
      await m.close();`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: app,
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'from the installed package function function\n');
  });
});
