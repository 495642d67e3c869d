/**
 * `messenger login`, `register`, `logout` and `whoami` in-process against a listening
 * server: the kept session (its file's mode, replaced in one step), the commands that then
 * go through the server, and each failure as one line with what to do and its exit code:
 * a wrong password, no server, an unreachable one, a refused TLS certificate, an ended
 * session, a rate limit, a server too old, an operator command pointed at a server, and
 * another user named as the reader. The config folder is a temporary one, never ~/.config.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, afterEach, before, describe, it } from 'node:test';
import { main } from '../src/cli/main.js';
import type { Input } from '../src/cli/read-password.js';
import { RedisMessenger } from '../src/index.js';
import { createServer, type Server } from '../src/server/index.js';
import { capture } from './support/capture.js';
import { freePort, type RedisServer, startRedisServer } from './support/redis-server.js';
import { api } from './support/serve-process.js';

const PASSWORD = 'correct horse battery staple';

let redis: RedisServer;
let messenger: RedisMessenger;
let server: Server;
let base: string;
let config: string;
const savedEnv = { ...process.env };

async function listen(app: Server): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

before(async () => {
  redis = await startRedisServer();
  messenger = await RedisMessenger.connect({ url: redis.url });
  server = await createServer({ messenger, origins: [], rateLimits: false });
  base = await listen(server);
});
afterEach(() => {
  // Each test has a config folder of its own; none of them reaches the real one.
  for (const key of ['MESSENGER_SERVER', 'MESSENGER_TOKEN', 'REDIS_URL']) delete process.env[key];
  process.env.XDG_CONFIG_HOME = freshConfig();
});
after(async () => {
  process.env = savedEnv;
  await server?.close();
  await messenger?.close();
  await redis?.stop();
});

function freshConfig(): string {
  config = mkdtempSync(join(tmpdir(), 'messenger-config-'));
  return config;
}
process.env.XDG_CONFIG_HOME = freshConfig();
for (const key of ['MESSENGER_SERVER', 'MESSENGER_TOKEN']) delete process.env[key];

const sessionFile = () => join(config, 'redis-messenger', 'session.json');
const name = () => `p${randomUUID().slice(0, 8)}`;

/** Runs the CLI in-process; `password` becomes standard input (for --password-stdin). */
async function run(argv: string[], password?: string) {
  const captured = capture();
  const input = Readable.from(password === undefined ? [] : [password]) as Input;
  const code = await main(argv, captured.output, input);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

/** A failure: this exit code, nothing on stdout, one `error:` line matching `pattern`. */
async function fails(code: number, pattern: RegExp, argv: string[], password?: string) {
  const result = await run(argv, password);
  assert.equal(result.code, code, `exit code of ${argv.join(' ')}: ${result.stderr}`);
  assert.equal(result.stdout, '');
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line: ${result.stderr}`);
  assert.match(lines[0] as string, /^error: /);
  assert.match(result.stderr, pattern);
  return result;
}

async function register(username = name(), url = base) {
  const result = await run(
    ['register', username, '--server', url, '--password-stdin'],
    `${PASSWORD}\n`,
  );
  assert.equal(result.code, 0, result.stderr);
  return username;
}

function savedToken(): string {
  return (JSON.parse(readFileSync(sessionFile(), 'utf8')) as { token: string }).token;
}

describe('login, register, logout, whoami', () => {
  it('register keeps the session in a file only its user can read; whoami says who', async () => {
    const alice = name();
    const result = await run(
      ['register', alice, '--server', `${base}/`, '--password-stdin'],
      `${PASSWORD}\n`,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      `registered and logged in to ${base} as ${alice} (the session is kept in ${sessionFile()})\n`,
    );
    assert.equal(statSync(sessionFile()).mode & 0o777, 0o600);
    assert.equal(statSync(join(config, 'redis-messenger')).mode & 0o777, 0o700);
    // written in one step: no temporary file left beside it
    assert.deepEqual(readdirSync(join(config, 'redis-messenger')), ['session.json']);
    const saved = JSON.parse(readFileSync(sessionFile(), 'utf8'));
    assert.equal(saved.server, base);
    assert.equal(saved.user.username, alice);
    assert.equal((await api(base, 'GET', '/me', saved.token)).status, 200);

    const who = await run(['whoami']);
    assert.equal(who.code, 0, who.stderr);
    assert.match(
      who.stdout,
      new RegExp(`^${alice} [0-9a-f-]{36} at ${base} \\(the server you logged in to`),
    );
    const json = JSON.parse((await run(['whoami', '--json'])).stdout);
    assert.deepEqual(Object.keys(json).sort(), ['server', 'user']);
    assert.equal(json.server, base);
    assert.equal(json.user.username, alice);
    assert.equal(json.user.id, saved.user.id);
  });

  it('login on a terminal: the password asked once, not echoed', async () => {
    const alice = await register();
    rmSync(sessionFile());
    const terminal = new PassThrough() as PassThrough & Input;
    terminal.isTTY = true;
    const modes: boolean[] = [];
    terminal.setRawMode = (raw: boolean) => modes.push(raw);
    const captured = capture();
    const done = main(['login', alice, '--server', base], captured.output, terminal);
    terminal.write(`${PASSWORD}\r`);
    assert.equal(await done, 0, captured.stderr());
    assert.deepEqual(modes, [true, false], 'raw mode (no echo) while typing, then back');
    assert.equal(captured.stderr(), `Password of ${alice} at ${base} (not shown):\n`);
    assert.ok(!(captured.stdout() + captured.stderr()).includes(PASSWORD), 'the password echoed');
    assert.equal((await api(base, 'GET', '/me', savedToken())).status, 200);
  });

  it('login replaces the kept session (the old one ends); logout ends it and forgets it', async () => {
    const alice = await register();
    const first = savedToken();
    const result = await run(['login', alice, '--server', base, '--password-stdin'], PASSWORD);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^logged in to ${base} as ${alice} `));
    const second = savedToken();
    assert.notEqual(second, first);
    assert.equal((await api(base, 'GET', '/me', first)).status, 401, 'the replaced session ended');
    assert.equal(statSync(sessionFile()).mode & 0o777, 0o600);

    const out = await run(['logout']);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, `logged out of ${base}\n`);
    assert.equal((await api(base, 'GET', '/me', second)).status, 401, 'ended on the server');
    assert.throws(() => statSync(sessionFile()), /ENOENT/);
    assert.deepEqual(await run(['logout']), { code: 0, stdout: 'not logged in\n', stderr: '' });
  });

  it('a wrong password, or no password yet: exit 1, one line, nothing kept', async () => {
    const alice = await register();
    rmSync(sessionFile());
    await fails(
      1,
      /wrong username or password for .*user set-password/,
      ['login', alice, '--server', base, '--password-stdin'],
      'not the password at all',
    );
    const noPassword = name();
    await messenger.createUser(noPassword);
    await fails(
      1,
      /wrong username or password/,
      ['login', noPassword, '--server', base, '--password-stdin'],
      PASSWORD,
    );
    assert.throws(() => statSync(sessionFile()), /ENOENT/);
  });

  it('register: a name taken (exit 1), a password too short (exit 2)', async () => {
    const alice = await register();
    await fails(1, /taken/, ['register', alice, '--server', base, '--password-stdin'], PASSWORD);
    await fails(2, /password/, ['register', name(), '--server', base, '--password-stdin'], 'short');
  });

  it('no server, a bad address, no terminal for the password: usage errors (exit 2)', async () => {
    await fails(
      2,
      /which server\? .*login <username> --server/,
      ['login', 'alice', '--password-stdin'],
      PASSWORD,
    );
    await fails(2, /--server/, ['login', 'alice', '--server', 'ftp://example.com']);
    await fails(2, /--password-stdin/, ['login', 'alice', '--server', base]);
    process.env.MESSENGER_SERVER = 'not a url';
    await fails(2, /MESSENGER_SERVER/, ['whoami']);
  });

  it('whoami and the commands when nobody is logged in: exit 1, how to log in', async () => {
    await fails(1, /not logged in: .*login <name> --server/, ['whoami']);
    await fails(1, /not logged in to .*login <name> --server/, [
      'inbox',
      'alice',
      '--server',
      base,
    ]);
  });

  it('an ended session: exit 1, "log in again" with the command', async () => {
    const alice = await register();
    await api(base, 'POST', '/logout', savedToken());
    const again = new RegExp(`log in again: .*login ${alice} --server ${base}$`, 'm');
    await fails(1, again, ['whoami']);
    await fails(1, again, ['inbox', alice]);
  });

  it('MESSENGER_SERVER and MESSENGER_TOKEN, with no saved login', async () => {
    const alice = await register();
    const token = savedToken();
    rmSync(sessionFile());
    process.env.MESSENGER_SERVER = base;
    process.env.MESSENGER_TOKEN = token;
    const who = await run(['whoami']);
    assert.equal(who.code, 0, who.stderr);
    assert.match(
      who.stdout,
      new RegExp(`^${alice} .* at ${base} \\(the address in MESSENGER_SERVER\\)`),
    );
    const out = await run(['logout']);
    assert.match(out.stdout, /the session in MESSENGER_TOKEN has ended/);
    assert.equal((await api(base, 'GET', '/me', token)).status, 401);
  });
});

describe('through a server: what is refused', () => {
  it('operator commands say they need Redis, in one line (exit 2)', async () => {
    await register();
    for (const argv of [
      ['user', 'create', name()],
      ['user', 'set-password', 'alice', '--password-stdin'],
      ['reindex'],
      ['local-redis', 'status'],
      ['serve', '--port', '0'],
      ['demo'],
    ]) {
      await fails(
        2,
        new RegExp(
          `${argv.slice(0, argv[0] === 'user' || argv[0] === 'local-redis' ? 2 : 1).join(' ')} works on Redis only`,
        ),
        [...argv, '--server', base],
      );
    }
    process.env.MESSENGER_SERVER = base;
    await fails(2, /works on Redis only.*unset MESSENGER_SERVER/, ['reindex']);
  });

  it('naming another user as the reader or the sender: exit 2, nothing sent', async () => {
    const bob = await register();
    const alice = await register();
    for (const argv of [
      ['inbox', bob],
      ['conversations', bob],
      ['send', bob, alice, 'forged'],
      ['contacts', 'list', bob],
      ['seen', bob, '--from', alice],
    ]) {
      await fails(2, new RegExp(`logged in to ${base} as ${alice}: .* as ${alice} only`), argv);
    }
    const inbox = await run(['inbox', alice, '--json']);
    assert.deepEqual(JSON.parse(inbox.stdout).messages, []);
  });

  it('chatting as another user than the signed-in one: exit 2, before the terminal is touched', async () => {
    const bob = await register();
    const alice = await register();
    await fails(2, new RegExp(`logged in to ${base} as ${alice}: .* as ${alice} only`), [
      'chat',
      bob,
    ]);
  });

  it('--server with --redis, or with --namespace: exit 2', async () => {
    await fails(2, /not both/, ['inbox', 'alice', '--server', base, '--redis', redis.url]);
    await fails(2, /--namespace is for Redis/, [
      'inbox',
      'alice',
      '--server',
      base,
      '--namespace',
      'ns',
    ]);
  });

  it('a saved login wins over REDIS_URL; --redis wins over a saved login', async () => {
    const bob = await register();
    const alice = await register(); // logged in last: the saved login
    process.env.REDIS_URL = redis.url;
    const sent = await run(['send', alice, bob, 'through the server', '--json']);
    assert.equal(sent.code, 0, sent.stderr);
    // On Redis, with --redis, any user can be the reader (the operator's view).
    const read = await run(['inbox', bob, '--redis', redis.url, '--json']);
    assert.equal(read.code, 0, read.stderr);
    assert.deepEqual(
      JSON.parse(read.stdout).messages.map((m: { text: string }) => m.text),
      ['through the server'],
    );
  });
});

describe('a server that cannot be used: one line, exit 1', () => {
  it('unreachable', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    await fails(
      1,
      new RegExp(`cannot reach the server at ${url}.*--server`),
      ['login', 'alice', '--server', url, '--password-stdin'],
      PASSWORD,
    );
  });

  it('a TLS certificate this machine does not trust', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'messenger-tls-'));
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const https = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_q, r) =>
      r.end('{}'),
    );
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
    try {
      await fails(
        1,
        new RegExp(
          `the server at ${url} presented a TLS certificate this machine does not trust \\((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\\).*NODE_EXTRA_CA_CERTS`,
        ),
        ['login', 'alice', '--server', url, '--password-stdin'],
        PASSWORD,
      );
    } finally {
      https.close();
      rmSync(dir, { recursive: true });
    }
  });

  it('rate-limited: how long to wait', async () => {
    const limited = await createServer({
      messenger,
      origins: [],
      rateLimits: { registrationsPerAddressPerHour: 1 },
    });
    const url = await listen(limited);
    try {
      await register(name(), url);
      await fails(
        1,
        /try again in \d+ (s|min)$/m,
        ['register', name(), '--server', url, '--password-stdin'],
        PASSWORD,
      );
    } finally {
      await limited.close();
    }
  });

  it('a server too old (no API version)', async () => {
    // What a server from before API versions answers: the same JSON, without the header.
    const old = createHttpServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          user: { id: randomUUID(), username: 'alice', createdAt: new Date().toISOString() },
          token: 'msg_x',
        }),
      );
    });
    await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(old.address() as AddressInfo).port}`;
    try {
      await fails(
        1,
        new RegExp(
          `the server at ${url} is too old for this client \\(it gives no API version; this client needs 1 or later\\): upgrade the server`,
        ),
        ['login', 'alice', '--server', url, '--password-stdin'],
        PASSWORD,
      );
    } finally {
      old.close();
    }
  });
});
