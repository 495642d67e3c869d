/**
 * `messenger serve` as a real process: it prints the URL to open, answers over HTTP with
 * keep-alive, stops on SIGTERM with exit code 0, holds a storm of connections while
 * busy, and a busy port or a bad flag is one line and exit code 1 or 2.
 */
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { after, before, it } from 'node:test';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import {
  exitOf,
  serveUntilExit,
  servingUrl,
  spawnServe,
  startupLine,
} from './support/serve-process.js';
import { within } from './support/wait.js';

let redis: RedisServer;

before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  await redis?.stop();
});

/** Connections opened at once in the storm test: well past Node's default backlog (511). */
const STORM = 1500;

function serve(...args: string[]): ChildProcessWithoutNullStreams {
  return serveWith({}, ...args);
}

function serveWith(env: Record<string, string>, ...args: string[]): ChildProcessWithoutNullStreams {
  return spawnServe(['--redis', redis.url, ...args], env);
}

it('serves the API, and stops on SIGTERM with exit code 0', async () => {
  const child = serve('--port', '0');
  try {
    const url = await servingUrl(child);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    const registered = await fetch(`${url}/api/v1/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'carol', password: 'a long enough password' }),
    });
    assert.equal(registered.status, 201);
    const { token } = (await registered.json()) as { token: string };
    const me = await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(((await me.json()) as { user: { username: string } }).user.username, 'carol');
    child.kill('SIGTERM');
    assert.equal(await within(10_000, exitOf(child), 'serve to stop'), 0);
  } finally {
    child.kill('SIGKILL');
  }
});

it('holds a storm of connections while it is busy: 1,500 opened at once while it is frozen all connect', async (t) => {
  // The kernel holds at most net.core.somaxconn of them, whatever the server asks.
  const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  if (somaxconn < STORM) return t.skip(`net.core.somaxconn is ${somaxconn}, under ${STORM}`);
  const child = serve('--port', '0');
  const sockets: Socket[] = [];
  try {
    const url = new URL(await servingUrl(child));
    // Frozen, it accepts nothing: the kernel completes each handshake into its accept
    // queue, and past the queue's length drops the SYN (the client tries again after 1 s).
    child.kill('SIGSTOP');
    const connected = await Promise.all(
      Array.from(
        { length: STORM },
        () =>
          new Promise<boolean>((resolve) => {
            const socket = connect({ host: url.hostname, port: Number(url.port) });
            sockets.push(socket);
            const late = setTimeout(() => resolve(false), 1500);
            socket.once('connect', () => resolve(true));
            socket.once('error', () => resolve(false));
            socket.once('close', () => clearTimeout(late));
          }),
      ),
    );
    // Node's default backlog (511) held 512 of them.
    assert.equal(connected.filter(Boolean).length, STORM);
  } finally {
    for (const socket of sockets) socket.destroy();
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
});

it('a busy port is one line and exit code 1; a bad flag exit code 2', async () => {
  const busy = createNetServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const address = busy.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  try {
    const refusal = (...args: string[]) => serveUntilExit(['--redis', redis.url, ...args]);
    // Believing every address would let any client pick its address for the rate limits.
    const [taken, bad, ...trusting] = await Promise.all([
      refusal('--port', String(port)),
      refusal('--port', 'eighty'),
      refusal('--trust-proxy', '0.0.0.0/0'),
      refusal('--trust-proxy', '10.0.0.1,::/0'),
      refusal('--trust-proxy', 'proxy.local'),
    ]);
    assert.equal(taken.status, 1, taken.stderr);
    assert.match(taken.stderr, new RegExp(`port ${port} on 127.0.0.1 is in use`));
    const lines = taken.stderr.trim().split('\n');
    assert.equal(lines.length, 2, taken.stderr);
    assert.match(
      lines[0] ?? '',
      /^Using the Redis at redis:\/\/127\.0\.0\.1:\d+ \(given with --redis\)\.$/,
    );
    assert.match(lines[1] ?? '', /^error: /);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /--port must be a port number/);
    const said = [
      /would believe every address/,
      /would believe every address/,
      /takes addresses or CIDR ranges/,
    ];
    for (const [i, refused] of trusting.entries()) {
      assert.equal(refused.status, 2, refused.stderr);
      assert.match(refused.stderr, said[i] as RegExp);
    }
  } finally {
    busy.close();
  }
});

it('--wait-for-replicas reaches the messenger: with no replica to wait for, a send answers 503 after --replica-timeout-ms; bad values exit 2', async () => {
  const cases = [
    ['--wait-for-replicas', 'one', /--wait-for-replicas must be a whole number/],
    ['--wait-for-replicas', '-1', /--wait-for-replicas must be a whole number/],
    ['--replica-timeout-ms', '0', /--replica-timeout-ms must be a whole number/],
  ] as const;
  const refusals = await Promise.all(
    cases.map(([flag, value]) => serveUntilExit(['--redis', redis.url, flag, value])),
  );
  for (const [i, refused] of refusals.entries()) {
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, cases[i]?.[2] as RegExp);
  }
  // This Redis has no replica: each send is stored but never confirmed by one.
  const child = serve(
    '--port',
    '0',
    '--namespace',
    `replicas-${randomUUID()}`,
    '--wait-for-replicas',
    '1',
    '--replica-timeout-ms',
    '150',
  );
  try {
    const url = await servingUrl(child);
    const token = async (username: string) => {
      const response = await fetch(`${url}/api/v1/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password: 'a long enough password' }),
      });
      return ((await response.json()) as { token: string }).token;
    };
    const [dana] = [await token('dana'), await token('eve')];
    const started = Date.now();
    const sent = await fetch(`${url}/api/v1/messages/${randomUUID()}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${dana}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'eve', text: 'hello' }),
    });
    const waited = Date.now() - started;
    assert.equal(sent.status, 503, await sent.text());
    assert.ok(sent.headers.get('retry-after'));
    assert.ok(waited >= 150, `answered after ${waited} ms, before the replica timeout`);
  } finally {
    child.kill('SIGKILL');
  }
});

it('rate limits come from flags and the environment; --no-rate-limits turns them off and says so', async () => {
  const unlimited = serve('--port', '0', '--no-rate-limits');
  // A namespace of its own: the other tests' registrations from this address count too.
  const strict = serveWith(
    { MESSENGER_REGISTRATIONS_PER_ADDRESS_PER_HOUR: '1' },
    '--port',
    '0',
    '--namespace',
    `strict-${randomUUID()}`,
  );
  try {
    const [offLine, strictLine] = await Promise.all([startupLine(unlimited), startupLine(strict)]);
    assert.match(offLine, /^messenger serving on http:\/\/127\.0\.0\.1:\d+ \(rate limits off\)$/);
    assert.match(strictLine, /^messenger serving on http:\/\/127\.0\.0\.1:\d+$/);
    const registerOn = (line: string) =>
      fetch(`${line.split(' ')[3]}/api/v1/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          username: `r${randomUUID().slice(0, 8)}`,
          password: 'a long enough password',
        }),
      });
    for (let i = 0; i < 7; i++) assert.equal((await registerOn(offLine)).status, 201, 'no limit');
    assert.equal((await registerOn(strictLine)).status, 201);
    const refused = await registerOn(strictLine);
    assert.equal(refused.status, 429, 'one registration an hour, from the environment');
    assert.ok(Number(refused.headers.get('retry-after')) > 3500);
  } finally {
    unlimited.kill('SIGKILL');
    strict.kill('SIGKILL');
  }
  const bad = await serveUntilExit(['--redis', redis.url, '--send-burst', 'lots']);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /--send-burst must be a whole number above 0/);
});

it('logs each request as JSON with a request id, and never a password, a token or a text', async () => {
  const child = serve('--port', '0');
  let logged = '';
  child.stderr.on('data', (chunk: Buffer) => {
    logged += chunk.toString();
  });
  try {
    const url = await servingUrl(child);
    const password = 'a password nobody should log';
    const registered = await fetch(`${url}/api/v1/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'logged', password }),
    });
    const { token } = (await registered.json()) as { token: string };
    await fetch(`${url}/api/v1/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'logged-to', password }),
    });
    const text = 'a text nobody should log';
    const sent = await fetch(`${url}/api/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'logged-to', text }),
    });
    assert.equal(sent.status, 201);
    await fetch(`${url}/api/v1/me`, { headers: { cookie: `messenger_session=${token}` } });
    child.kill('SIGTERM');
    await within(10_000, exitOf(child), 'serve to stop');
    const lines = logged.split('\n').filter((line) => line.startsWith('{'));
    const requests = lines.map((line) => JSON.parse(line) as { reqId?: string; req?: unknown });
    assert.ok(requests.filter((entry) => entry.reqId && entry.req).length >= 3, logged);
    for (const secret of [password, token, token.slice(-20), text]) {
      assert.ok(!logged.includes(secret), `the log holds ${secret}`);
    }
  } finally {
    child.kill('SIGKILL');
  }
});
