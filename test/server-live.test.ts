/**
 * The live channel with real WebSocket clients against a listening server, on one Redis
 * and on a cluster: live messages, resume by cursor with no gap and no duplicate, reset
 * for an unknown cursor, the user's own sends from another device, a revoked session
 * closing its socket, and the Origin allowlist at the upgrade.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { Keys } from '../src/core/keys.js';
import type { RedisMessenger } from '../src/index.js';
import { createServer, type Server } from '../src/server/index.js';
import { listenersOf, onEachBackend } from './support/backends.js';
import { lineCollector } from './support/capture.js';
import { liveClient, openLive, api as serverApi } from './support/serve-process.js';
import { eventually } from './support/wait.js';

const ORIGIN = 'http://chat.test';
const PASSWORD = 'correct horse battery staple';
const ROOMY = { registrationsPerAddressPerHour: 1000, requestsPerAddressPerMinute: 1000 };

let messenger: RedisMessenger;
let server: Server;
let base: string;
let keys: Keys;

const api = (method: string, path: string, token?: string, body?: unknown) =>
  serverApi(base, method, path, token, body);

async function register() {
  const username = `u${randomUUID().slice(0, 8)}`;
  const { status, json } = await api('POST', '/register', undefined, {
    username,
    password: PASSWORD,
  });
  assert.equal(status, 201);
  return { username, id: json.user.id as string, token: json.token as string };
}

/** The server's warning lines (JSON), each test's and all. */
const warnings: string[] = [];

/** A connected live client that records every frame, and how it closed. */
const connect = (
  token: string,
  after: string | null | 'first',
  headers: Record<string, string> = {},
) => liveClient(base, token, after, headers);

onEachBackend((backend) => {
  before(async () => {
    const namespace = `live-${randomUUID()}`;
    keys = new Keys(namespace, backend().kind);
    messenger = await backend().messenger({ namespace });
    // Every test registers from one address: the other limits stay as they are by default.
    server = await createServer({
      messenger,
      origins: [ORIGIN],
      rateLimits: ROOMY,
      // Warnings kept: what the server says when it closes a socket that stopped reading.
      logger: { level: 'warn', stream: lineCollector(warnings) },
    });
    await server.listen({ port: 0, host: '127.0.0.1' });
    const address = server.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(async () => {
    await server?.close();
    await messenger?.close();
  });

  describe('the live channel', () => {
    it('pushes messages live, and resumes from a cursor with no gap and no duplicate', async () => {
      const alice = await register();
      const bob = await register();
      const first = await connect(bob.token, null);
      for (let i = 0; i < 5; i++)
        assert.equal(
          (await api('POST', '/messages', alice.token, { to: bob.username, text: `live ${i}` }))
            .status,
          201,
        );
      await eventually(() => first.messages().length === 5, 5000, 'five live messages');
      const cursor = first.messages()[2]?.cursor as string;
      first.socket.terminate();
      for (let i = 0; i < 3; i++)
        await api('POST', '/messages', alice.token, { to: bob.username, text: `while away ${i}` });
      const again = await connect(bob.token, cursor);
      await api('POST', '/messages', alice.token, { to: bob.username, text: 'after' });
      await eventually(() => again.messages().length === 6, 5000, 'the replay and the new one');
      assert.deepEqual(
        again.messages().map((f) => f.message?.text),
        ['live 3', 'live 4', 'while away 0', 'while away 1', 'while away 2', 'after'],
      );
      again.socket.close();
    });

    it('says where it stands when ready; a null cursor resumes from the first message', async () => {
      const alice = await register();
      const bob = await register();
      const empty = await connect(bob.token, null);
      assert.deepEqual(empty.frames.at(-1), { type: 'ready', cursor: null }, 'an empty inbox');
      empty.socket.terminate();
      // Sent between two connections of an empty inbox: "from now on" would miss it.
      const away = await api('POST', '/messages', alice.token, { to: bob.username, text: 'away' });
      const resumed = await connect(bob.token, 'first');
      assert.deepEqual(
        resumed.messages().map((f) => f.message?.text),
        ['away'],
      );
      assert.deepEqual(resumed.frames.at(-1), { type: 'ready', cursor: away.json.message.id });
      resumed.socket.close();
      const fromNow = await connect(bob.token, null);
      assert.deepEqual(fromNow.frames, [{ type: 'ready', cursor: away.json.message.id }]);
      fromNow.socket.close();
    });

    it('refuses a hello with both a cursor and fromFirst', async () => {
      const bob = await register();
      const { socket, closed } = await openLive(base, bob.token);
      socket.send(JSON.stringify({ type: 'hello', after: randomUUID(), fromFirst: true }));
      await eventually(() => closed.code !== undefined, 5000, 'the close');
      assert.equal(closed.code, 4002);
    });

    it('says reset for an unknown cursor, then goes on live', async () => {
      const alice = await register();
      const bob = await register();
      const client = await connect(bob.token, randomUUID());
      assert.ok(client.frames.some((f) => f.type === 'reset'));
      await api('POST', '/messages', alice.token, { to: bob.username, text: 'still live' });
      await eventually(() => client.messages().length === 1);
      client.socket.close();
    });

    it("shows the user's own sends from another device, and seen changes", async () => {
      const alice = await register();
      const bob = await register();
      const tab = await connect(alice.token, null);
      const sent = await api('POST', '/messages', alice.token, {
        to: bob.username,
        text: 'from the phone',
      });
      await eventually(() => tab.messages().length === 1);
      assert.equal(tab.messages()[0]?.message?.id, sent.json.message.id);
      assert.equal(tab.messages()[0]?.cursor, undefined, 'a sent message moves no inbox cursor');
      await api('POST', '/messages', bob.token, { to: alice.username, text: 'reply' });
      await eventually(() => tab.messages().length === 2);
      await api('POST', `/conversations/${bob.username}/seen`, alice.token);
      await eventually(() => tab.frames.some((f) => f.type === 'seen'));
      assert.deepEqual(
        tab.frames.find((f) => f.type === 'seen'),
        { type: 'seen', with: bob.id, marked: 1 },
      );
      tab.socket.close();
    });

    it('closes a socket with 4001 when its session is revoked', async () => {
      const bob = await register();
      const client = await connect(bob.token, null);
      assert.equal((await api('POST', '/logout', bob.token)).status, 204);
      await eventually(() => client.closed.code !== undefined, 3000, 'the socket to close');
      assert.equal(client.closed.code, 4001);
    });

    it('stops reading the inbox of a socket that stopped reading as soon as it closes it with 4009', async () => {
      const alice = await register();
      const bob = await register();
      const warnedBefore = warnings.length; // this backend's server's lines only
      const stalled = await connect(bob.token, null);
      const tcp = (stalled.socket as unknown as { _socket: { pause(): void; resume(): void } })
        ._socket;
      tcp.pause();
      const listeners = () => listenersOf(backend(), keys.inboxChannel(bob.id));
      assert.equal(await listeners(), 1);
      // 6 MB: more than the loopback's buffers (~4 MB) and the server's 1 MiB bound together.
      const text = 'x'.repeat(4000);
      for (let i = 0; i < 1500; i += 50)
        await Promise.all(
          Array.from({ length: 50 }, () => messenger.sendMessage(alice.id, bob.id, text)),
        );
      // The peer reads nothing, so it cannot finish the close handshake (ws waits 30 s for
      // it); the inbox must not be read meanwhile.
      const deadline = Date.now() + 10_000;
      while ((await listeners()) !== 0) {
        assert.ok(Date.now() < deadline, 'the server still listens to the stalled socket’s inbox');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(stalled.closed.code, undefined, 'the close frame has not reached it yet');
      tcp.resume();
      await eventually(() => stalled.closed.code !== undefined, 10_000, 'the close frame');
      assert.equal(stalled.closed.code, 4009);
      assert.ok(stalled.messages().length < 1500, 'it was cut off before the end');
      // It held no more than the bound (1 MiB) and the one frame that went past it.
      const said = warnings
        .slice(warnedBefore)
        .map((line) => JSON.parse(line) as { msg: string; bufferedBytes?: number })
        .find((line) => line.msg === 'live socket not reading: closed with 4009');
      const held = said?.bufferedBytes ?? 0;
      assert.ok(held > 1024 * 1024 && held <= 1024 * 1024 + 5000, `it held ${held} bytes`);
    });

    it('refuses an upgrade from an origin not in the allowlist, and one with no session', async () => {
      const bob = await register();
      const refused = (headers: Record<string, string>) =>
        new Promise<number>((resolve) => {
          const socket = new WebSocket(`${base.replace('http', 'ws')}/api/v1/live`, { headers });
          socket.on('unexpected-response', (_request, response) =>
            resolve(response.statusCode ?? 0),
          );
          socket.on('open', () => {
            socket.close();
            resolve(101);
          });
          socket.on('error', () => {});
        });
      assert.equal(
        await refused({ authorization: `Bearer ${bob.token}`, origin: 'http://evil.test' }),
        403,
      );
      assert.equal(await refused({ origin: ORIGIN }), 401);
      assert.equal(await refused({ authorization: `Bearer ${bob.token}`, origin: ORIGIN }), 101);
    });
  });
});
