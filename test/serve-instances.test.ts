/**
 * Several `messenger serve` processes on one Redis (real processes, no sticky sessions):
 * a message sent through one reaches a WebSocket client of the other; a logout on one
 * makes the other refuse the token at once and close the user's socket with 4001 within a
 * second; SIGTERM on one closes its sockets with 1001 and it exits 0.
 */
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { api, liveClient, servingUrl, spawnServe } from './support/serve-process.js';
import { eventually, sleep, within } from './support/wait.js';

const PASSWORD = 'correct horse battery staple';

let redis: RedisServer;
const children: ChildProcessWithoutNullStreams[] = [];

before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await redis?.stop();
});

/** A `messenger serve` on the test's Redis, and the URL it printed once listening. */
async function serve(
  namespace: string,
): Promise<{ child: ChildProcessWithoutNullStreams; url: string }> {
  const child = spawnServe(['--redis', redis.url, '--namespace', namespace, '--port', '0']);
  children.push(child);
  return { child, url: await servingUrl(child) };
}

const live = (base: string, token: string) => liveClient(base, token);

it('two instances on one Redis: delivery across them, logout closing the other’s socket, SIGTERM with 1001', async () => {
  const namespace = `instances-${randomUUID()}`;
  const [one, two] = await Promise.all([serve(namespace), serve(namespace)]);
  const account = async (base: string) => {
    const username = `u${randomUUID().slice(0, 8)}`;
    const reply = await api(base, 'POST', '/register', undefined, { username, password: PASSWORD });
    assert.equal(reply.status, 201);
    return { username, token: reply.json.token as string };
  };
  const alice = await account(one.url);
  const bob = await account(two.url);

  // Bob listens on the second instance; Alice sends through the first.
  const bobOnTwo = await live(two.url, bob.token);
  const sent = await api(one.url, 'POST', '/messages', alice.token, {
    to: bob.username,
    text: 'across',
  });
  assert.equal(sent.status, 201);
  await eventually(
    () => bobOnTwo.frames.some((f) => f.type === 'message' && f.message?.text === 'across'),
    5000,
    'the message on the other instance',
  );

  // The second instance keeps Bob's session in memory once it has heard the ended-sessions
  // channel (its first signed-in request starts listening).
  for (let i = 0; i < 3; i++) {
    assert.equal((await api(two.url, 'GET', '/me', bob.token)).status, 200);
    await sleep(50);
  }

  // Bob logs out through the first instance: the second refuses his token at once (it
  // hears the ending; the 5 s its memory would keep the session are not waited out), and
  // his socket there closes within a second.
  const loggedOutAt = Date.now();
  assert.equal((await api(one.url, 'POST', '/logout', bob.token)).status, 204);
  let status = 200;
  while (status === 200 && Date.now() - loggedOutAt < 5000)
    status = (await api(two.url, 'GET', '/me', bob.token)).status;
  assert.equal(status, 401);
  const refusedAfter = Date.now() - loggedOutAt;
  assert.ok(
    refusedAfter < 1000,
    `refused on the other instance ${refusedAfter} ms after the logout`,
  );
  await eventually(() => bobOnTwo.closed.code !== undefined, 3000, 'the socket to close');
  assert.equal(bobOnTwo.closed.code, 4001);
  const took = (bobOnTwo.closed.at ?? Infinity) - loggedOutAt;
  assert.ok(took < 1000, `closed ${took} ms after the logout`);

  // SIGTERM on the second instance: its sockets close with 1001, it exits 0, the first goes on.
  const again = await api(one.url, 'POST', '/login', undefined, {
    username: bob.username,
    password: PASSWORD,
  });
  assert.equal(again.status, 200);
  const sockets = await Promise.all([live(two.url, again.json.token), live(two.url, alice.token)]);
  const exited = new Promise<number | null>((resolve) =>
    two.child.on('exit', (code) => resolve(code)),
  );
  two.child.kill('SIGTERM');
  assert.equal(await within(10_000, exited, 'the second instance to stop'), 0);
  for (const socket of sockets) {
    await eventually(() => socket.closed.code !== undefined, 3000, 'a socket to close');
    assert.equal(socket.closed.code, 1001);
  }
  assert.equal(
    (await api(one.url, 'GET', '/me', alice.token)).status,
    200,
    'the first still serves',
  );
  one.child.kill('SIGTERM');
});
