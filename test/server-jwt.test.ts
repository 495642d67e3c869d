/**
 * Bring your own identity: `POST /api/v1/login/jwt` trades a JWT signed by the app that
 * owns the users for a session, checking signature, `exp`, `aud` (and `iss` when set),
 * with the one algorithm its key allows; users are created on first sight only when
 * allowed. Off unless configured; `messenger serve` refuses a key that cannot work.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { SignJWT } from 'jose';
import { MessengerClient, ServerRefusedError } from '../src/client/index.js';
import { RedisMessenger } from '../src/index.js';
import { createServer, type JwtOptions, type Server } from '../src/server/index.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { serveUntilExit } from './support/serve-process.js';

const AUDIENCE = 'messenger.example.com';
const SECRET = randomBytes(32);

let redis: RedisServer;
const open: { server: Server; messenger: RedisMessenger }[] = [];

before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  for (const { server, messenger } of open) {
    await server.close();
    await messenger.close();
  }
  await redis?.stop();
});

async function serverWith(jwt?: JwtOptions) {
  const messenger = await RedisMessenger.connect({
    url: redis.url,
    namespace: `jwt-${randomUUID()}`,
  });
  try {
    const server = await createServer({ messenger, origins: [], rateLimits: false, jwt });
    open.push({ server, messenger });
    return { server, messenger };
  } catch (error) {
    await messenger.close();
    throw error;
  }
}

type Key = Parameters<SignJWT['sign']>[0];

function tokenFor(
  sub: string | undefined,
  key: Key,
  alg: string,
  claims: { aud?: string; exp?: string | number; iss?: string } = {},
) {
  const jwt = new SignJWT({}).setProtectedHeader({ alg }).setIssuedAt();
  if (sub !== undefined) jwt.setSubject(sub);
  if (claims.aud !== '') jwt.setAudience(claims.aud ?? AUDIENCE);
  jwt.setExpirationTime(claims.exp ?? '5m');
  if (claims.iss) jwt.setIssuer(claims.iss);
  return jwt.sign(key);
}

function trade(server: Server, token: string) {
  return server.inject({ method: 'POST', url: '/api/v1/login/jwt', payload: { token } });
}

const name = () => `j${randomUUID().slice(0, 8)}`;

it('a valid HS256 token of an existing user opens a session like a login', async () => {
  const { server, messenger } = await serverWith({ key: SECRET, audience: AUDIENCE });
  const alice = await messenger.addUser(name());
  const reply = await trade(server, await tokenFor(alice.username, SECRET, 'HS256'));
  assert.equal(reply.statusCode, 200, reply.body);
  assert.equal(reply.json().user.id, alice.id);
  assert.ok(reply.cookies.some((c) => c.name === 'messenger_session' && c.httpOnly));
  const me = await server.inject({
    method: 'GET',
    url: '/api/v1/me',
    headers: { authorization: `Bearer ${reply.json().token}` },
  });
  assert.equal(me.json().user.username, alice.username);
});

it('the API client trades a JWT for a session (MessengerClient.loginWithJwt)', async () => {
  const { server, messenger } = await serverWith({ key: SECRET, audience: AUDIENCE });
  const alice = await messenger.addUser(name());
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const client = await MessengerClient.loginWithJwt(
    base,
    await tokenFor(alice.username, SECRET, 'HS256'),
  );
  assert.equal((await client.me()).user.id, alice.id);
  await assert.rejects(
    MessengerClient.loginWithJwt(base, await tokenFor(alice.username, randomBytes(32), 'HS256')),
    (error: Error) =>
      error instanceof ServerRefusedError &&
      error.code === 'token_refused' &&
      /not signed with the configured key/.test(error.message),
  );
});

it('unknown users are refused, or created on first sight when the app allows it', async () => {
  const strict = await serverWith({ key: SECRET, audience: AUDIENCE });
  const stranger = name();
  const refused = await trade(strict.server, await tokenFor(stranger, SECRET, 'HS256'));
  assert.equal(refused.statusCode, 401);
  assert.equal(refused.json().error.code, 'token_refused');
  assert.match(refused.json().error.message, /creates none from tokens/);
  assert.equal(await strict.messenger.findUserByUsername(stranger), null, 'nobody created');

  const open = await serverWith({ key: SECRET, audience: AUDIENCE, createUsers: true });
  const newcomer = name();
  const [first, second] = await Promise.all([
    trade(open.server, await tokenFor(newcomer, SECRET, 'HS256')),
    trade(open.server, await tokenFor(newcomer, SECRET, 'HS256')),
  ]);
  assert.equal(first?.statusCode, 200, first?.body);
  assert.equal(second?.statusCode, 200, second?.body);
  assert.equal(
    first?.json().user.id,
    second?.json().user.id,
    'one user, however many sign in at once',
  );
  const bad = await trade(open.server, await tokenFor(' outer spaces ', SECRET, 'HS256'));
  assert.equal(bad.statusCode, 401);
  assert.match(bad.json().error.message, /no username here/);
});

it('expired, wrong audience, wrong issuer, wrong key, no sub, alg none and garbage are refused', async () => {
  const { server, messenger } = await serverWith({
    key: SECRET,
    audience: AUDIENCE,
    issuer: 'https://app.example.com',
  });
  const alice = await messenger.addUser(name());
  const iss = 'https://app.example.com';
  const cases: [string, string, RegExp][] = [
    [
      'expired',
      await tokenFor(alice.username, SECRET, 'HS256', {
        iss,
        exp: Math.floor(Date.now() / 1000) - 120,
      }),
      /expired/,
    ],
    [
      'another audience',
      await tokenFor(alice.username, SECRET, 'HS256', { iss, aud: 'other.example' }),
      /aud claim/,
    ],
    [
      'no audience',
      await tokenFor(alice.username, SECRET, 'HS256', { iss, aud: '' }),
      /aud claim is missing/,
    ],
    [
      'another issuer',
      await tokenFor(alice.username, SECRET, 'HS256', { iss: 'https://evil.example' }),
      /iss claim/,
    ],
    [
      'another key',
      await tokenFor(alice.username, randomBytes(32), 'HS256', { iss }),
      /not signed with the configured key/,
    ],
    ['no sub', await tokenFor(undefined, SECRET, 'HS256', { iss }), /sub claim is missing/],
    ['garbage', 'not.a.jwt', /not a valid JWT/],
  ];
  // alg "none": a header and claims with no signature at all.
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const exp = Math.floor(Date.now() / 1000) + 300;
  cases.push([
    'alg none',
    `${b64({ alg: 'none' })}.${b64({ sub: alice.username, aud: AUDIENCE, iss, exp })}.`,
    /another algorithm|not a valid JWT/,
  ]);
  for (const [what, token, reason] of cases) {
    const reply = await trade(server, token);
    assert.equal(reply.statusCode, 401, `${what}: ${reply.body}`);
    assert.equal(reply.json().error.code, 'token_refused', what);
    assert.match(reply.json().error.message, reason, what);
  }
});

it('RS256 and EdDSA keys; an RSA server never takes an HMAC token made with its public key', async () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = generateKeyPairSync('ed25519');
  const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const edPem = ed.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const rsaServer = await serverWith({ key: rsaPem, audience: AUDIENCE });
  const edServer = await serverWith({ key: edPem, audience: AUDIENCE });
  const alice = await rsaServer.messenger.addUser(name());
  const bob = await edServer.messenger.addUser(name());
  assert.equal(
    (await trade(rsaServer.server, await tokenFor(alice.username, rsa.privateKey, 'RS256')))
      .statusCode,
    200,
  );
  assert.equal(
    (await trade(edServer.server, await tokenFor(bob.username, ed.privateKey, 'EdDSA'))).statusCode,
    200,
  );
  // Algorithm confusion: the public key (which anyone may have) used as an HS256 secret.
  const confused = await tokenFor(alice.username, new TextEncoder().encode(rsaPem), 'HS256');
  const reply = await trade(rsaServer.server, confused);
  assert.equal(reply.statusCode, 401);
  assert.match(reply.json().error.message, /another algorithm/);
  // And a token of the other key type.
  assert.equal(
    (await trade(rsaServer.server, await tokenFor(alice.username, ed.privateKey, 'EdDSA')))
      .statusCode,
    401,
  );
});

it('without a JWT key there is no such route; a secret too short is refused', async () => {
  const { server } = await serverWith();
  assert.equal((await trade(server, 'x.y.z')).statusCode, 404);
  await assert.rejects(
    serverWith({ key: randomBytes(16), audience: AUDIENCE }),
    /at least 32 bytes/,
  );
});

it('messenger serve: --jwt-key needs --jwt-audience, and a key that cannot work is exit code 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'messenger-jwt-'));
  try {
    const short = join(dir, 'short');
    writeFileSync(short, 'too short\n');
    const serve = (...args: string[]) => serveUntilExit(['--redis', redis.url, ...args]);
    const [noAudience, weak, missing] = await Promise.all([
      serve('--jwt-key', short),
      serve('--jwt-key', short, '--jwt-audience', AUDIENCE),
      serve('--jwt-key', join(dir, 'none'), '--jwt-audience', AUDIENCE),
    ]);
    assert.equal(noAudience.status, 2, noAudience.stderr);
    assert.match(noAudience.stderr, /--jwt-key needs --jwt-audience/);
    assert.equal(weak.status, 2, weak.stderr);
    assert.match(weak.stderr, /at least 32 bytes/);
    assert.equal(missing.status, 2, missing.stderr);
    assert.match(missing.stderr, /cannot read the --jwt-key file .*ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
