/**
 * `messenger user set-password`: in-process with an injected standard input (piped, and a
 * terminal that must not echo), then as a real process with `--password-stdin`; each
 * time the user can then log in to the server, and a refused password changes nothing.
 */
import './support/config-home.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { after, before, it } from 'node:test';
import { main } from '../src/cli/main.js';
import type { Input } from '../src/cli/read-password.js';
import { RedisMessenger } from '../src/index.js';
import { createServer, type Server } from '../src/server/index.js';
import { capture } from './support/capture.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { within } from './support/wait.js';

const PASSWORD = 'a password set by the operator';

let redis: RedisServer;
let messenger: RedisMessenger;
let server: Server;

before(async () => {
  redis = await startRedisServer();
  messenger = await RedisMessenger.connect({ url: redis.url });
  server = await createServer({ messenger, origins: [], rateLimits: false });
});
after(async () => {
  await server?.close();
  await messenger?.close();
  await redis?.stop();
});

async function run(input: Input, ...argv: string[]) {
  const captured = capture();
  const code = await main(['--redis', redis.url, ...argv], captured.output, input);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

async function login(username: string, password: string): Promise<number> {
  const reply = await server.inject({
    method: 'POST',
    url: '/api/v1/login',
    payload: { username, password },
  });
  return reply.statusCode;
}

async function newUser(): Promise<string> {
  const name = `op${randomUUID().slice(0, 8)}`;
  await messenger.createUser(name);
  return name;
}

it('--password-stdin: the user created without a password can then log in', async () => {
  const name = await newUser();
  assert.equal(await login(name, PASSWORD), 401, 'no password yet');
  const result = await run(
    Readable.from([`${PASSWORD}\n`]),
    'user',
    'set-password',
    name,
    '--password-stdin',
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `password set for ${name}\n`);
  assert.equal(await login(name, PASSWORD), 200);
  assert.equal(await login(name, `${PASSWORD}\n`), 401, 'the trailing newline is not part of it');
});

it("a new password ends the user's sessions: a token from before no longer works", async () => {
  const name = await newUser();
  await run(Readable.from([`${PASSWORD}\n`]), 'user', 'set-password', name, '--password-stdin');
  const signedIn = await server.inject({
    method: 'POST',
    url: '/api/v1/login',
    payload: { username: name, password: PASSWORD },
  });
  const { token } = signedIn.json() as { token: string };
  const me = () =>
    server.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${token}` },
    });
  assert.equal((await me()).statusCode, 200);
  const again = await run(
    Readable.from([`${PASSWORD} (new)\n`]),
    'user',
    'set-password',
    name,
    '--password-stdin',
  );
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, `password set for ${name}; 1 session ended\n`);
  assert.equal((await me()).statusCode, 401, 'the old session ended');
  assert.equal(await login(name, PASSWORD), 401, 'the old password');
  assert.equal(await login(name, `${PASSWORD} (new)`), 200);
});

it('refuses a password the server would refuse, and an unknown user; nothing changes', async () => {
  const name = await newUser();
  const short = await run(
    Readable.from(['too short']),
    'user',
    'set-password',
    name,
    '--password-stdin',
  );
  assert.equal(short.code, 2);
  assert.match(short.stderr, /at least 15 characters/);
  assert.equal(
    await messenger.accounts.passwordHash((await messenger.findUserByUsername(name))?.id ?? ''),
    null,
  );
  const nobody = await run(
    Readable.from([PASSWORD]),
    'user',
    'set-password',
    `nobody${randomUUID().slice(0, 6)}`,
    '--password-stdin',
  );
  assert.equal(nobody.code, 1, nobody.stderr);
  const noTerminal = await run(Readable.from([PASSWORD]), 'user', 'set-password', name);
  assert.equal(noTerminal.code, 2);
  assert.match(noTerminal.stderr, /--password-stdin/);
});

it('on a terminal: asks twice without echo, and two different answers change nothing', async () => {
  const terminal = () => {
    const stream = new PassThrough() as PassThrough & Input;
    stream.isTTY = true;
    const modes: boolean[] = [];
    stream.setRawMode = (raw: boolean) => modes.push(raw);
    return { stream, modes };
  };
  const name = await newUser();
  const typo = terminal();
  const refused = run(typo.stream, 'user', 'set-password', name);
  typo.stream.write(`${PASSWORD}\r`);
  setTimeout(() => typo.stream.write(`${PASSWORD}x\r`), 50);
  const first = await within(5000, refused, 'the command to answer');
  assert.equal(first.code, 2);
  assert.match(first.stderr, /the two passwords differ/);
  assert.equal(await login(name, PASSWORD), 401);

  const ok = terminal();
  const set = run(ok.stream, 'user', 'set-password', name);
  // A mistyped character taken back with backspace is not part of it.
  ok.stream.write(`${PASSWORD}q\u007f\r`);
  setTimeout(() => ok.stream.write(`${PASSWORD}\r`), 50);
  const second = await within(5000, set, 'the command to answer');
  assert.equal(second.code, 0, second.stderr);
  assert.ok(!second.stdout.includes(PASSWORD) && !second.stderr.includes(PASSWORD), 'not echoed');
  assert.deepEqual(ok.modes, [true, false, true, false], 'raw mode (no echo) while typing');
  assert.equal(await login(name, PASSWORD), 200);
});

it('--password-stdin as a real process', async () => {
  const name = await newUser();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/bin.ts',
      '--redis',
      redis.url,
      'user',
      'set-password',
      name,
      '--password-stdin',
    ],
    { env: { ...process.env, NO_COLOR: '1' } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(`${PASSWORD}\n`);
  const code = await within(
    20_000,
    new Promise<number | null>((resolve) => child.on('exit', resolve)),
    'set-password to finish',
  );
  assert.equal(code, 0, stderr);
  assert.equal(stdout, `password set for ${name}\n`);
  assert.equal(await login(name, PASSWORD), 200);
});
