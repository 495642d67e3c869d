/**
 * redis-messenger/client against a listening server (real HTTP and WebSockets), on one
 * Redis and on a cluster: every method's success and its main failure as the library's
 * error, a send retried with its id until stored once (past a 429, and past a server that
 * was not up yet), the live channel resuming across server restarts with no gap and no
 * duplicate, and a logout ending a subscription with SessionEndedError.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer as createNetServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import {
  MessengerClient,
  RateLimitedError,
  ServerRefusedError,
  ServerUnreachableError,
  SessionEndedError,
} from '../src/client/index.js';
import {
  CursorNotFoundError,
  type Message,
  MessageIdConflictError,
  type RedisMessenger,
  UsernameNotFoundError,
  UsernameTakenError,
  ValidationError,
} from '../src/index.js';
import { createServer, type RateLimitOptions, type Server } from '../src/server/index.js';
import { onEachBackend } from './support/backends.js';
import { eventually, within } from './support/wait.js';

const PASSWORD = 'correct horse battery staple';
const ROOMY: Partial<RateLimitOptions> = {
  registrationsPerAddressPerHour: 1000,
  requestsPerAddressPerMinute: 1000,
  requestsPerUserPer10Seconds: 10_000,
  upgradesPerAddressPerMinute: 1000,
};
/** Reconnections in tests wait tens of milliseconds, not seconds. */
const QUICK = { backoff: { firstMs: 20, maxMs: 200 } };

let messenger: RedisMessenger;
let server: Server;
let base: string;

async function listening(options: { port?: number; rateLimits?: Partial<RateLimitOptions> } = {}) {
  const started = await createServer({
    messenger,
    origins: ['http://chat.test'],
    rateLimits: options.rateLimits ?? ROOMY,
  });
  await started.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const address = started.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server: started, port, url: `http://127.0.0.1:${port}` };
}

/** A port nothing listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

const name = () => `u${randomUUID().slice(0, 8)}`;

async function signUp(url = base) {
  const username = name();
  const client = await MessengerClient.register(url, username, PASSWORD, { WebSocket });
  const { user } = await client.me();
  return { client, username, id: user.id };
}

onEachBackend((backend) => {
  before(async () => {
    messenger = await backend().messenger();
    ({ server, url: base } = await listening());
  });
  after(async () => {
    await server?.close();
    await messenger?.close();
  });

  describe('the client: accounts and sessions', () => {
    it('registers, logs in, lists and ends sessions, logs out', async () => {
      const { client, username, id } = await signUp();
      assert.match(client.token ?? '', /^msg_/);
      const again = await MessengerClient.login(base, username, PASSWORD);
      const me = await again.me();
      assert.equal(me.user.id, id);
      assert.equal(me.user.username, username);
      assert.ok(me.user.createdAt instanceof Date);
      assert.equal(me.session.current, true);
      const sessions = await client.sessions();
      assert.equal(sessions.length, 2);
      assert.equal(sessions.filter((s) => s.current).length, 1);
      assert.equal(await client.endSession(me.session.id), true);
      assert.equal(await client.endSession(me.session.id), false, 'ended already');
      await assert.rejects(again.me(), SessionEndedError);
      await client.logout();
      await assert.rejects(client.sessions(), (error: Error) => {
        assert.ok(error instanceof SessionEndedError);
        assert.match(error.message, /log in again/);
        return true;
      });
      // A client made from a token later works as the one that logged in.
      const third = await MessengerClient.login(base, username, PASSWORD);
      const fromToken = new MessengerClient({ server: base, token: third.token as string });
      assert.equal((await fromToken.me()).user.id, id);
    });

    it('says a taken name, a wrong password and a weak one as the library would', async () => {
      const { username } = await signUp();
      await assert.rejects(
        MessengerClient.register(base, username, PASSWORD),
        (error: Error) => error instanceof UsernameTakenError && error.message.includes(username),
      );
      await assert.rejects(
        MessengerClient.login(base, username, 'not the password at all'),
        (error: Error) =>
          error instanceof ServerRefusedError &&
          error.code === 'wrong_credentials' &&
          /wrong username or password/.test(error.message),
      );
      await assert.rejects(MessengerClient.register(base, name(), 'short'), ValidationError);
    });

    it('with the cookie (as a page is), sends the CSRF token the server wants on changes', async () => {
      const alice = await signUp();
      const bob = await signUp();
      // What a browser adds by itself: the session cookie and the page's Origin.
      const seen: { method: string; csrf: string | null }[] = [];
      const browserFetch: typeof fetch = (input, init = {}) => {
        const headers = new Headers(init.headers);
        headers.set('cookie', `messenger_session=${alice.client.token}`);
        headers.set('origin', 'http://chat.test');
        seen.push({ method: init.method ?? 'GET', csrf: headers.get('x-csrf-token') });
        return fetch(input, { ...init, headers });
      };
      const page = new MessengerClient({ server: base, fetch: browserFetch });
      const sent = await page.send(bob.username, 'from the page');
      assert.equal(sent.message.text, 'from the page');
      assert.equal(await page.markConversationSeen(bob.username), 0);
      const changes = seen.filter((call) => call.method !== 'GET');
      assert.ok(changes.length >= 2);
      assert.ok(
        changes.every((call) => call.csrf),
        'every change carried the CSRF token',
      );
      assert.equal(seen.filter((call) => call.method === 'GET').length, 1, 'read from /me once');
    });

    it('names the server it cannot reach', async () => {
      const url = `http://127.0.0.1:${await freePort()}`;
      const client = new MessengerClient({ server: url, token: 'msg_x' });
      await assert.rejects(
        client.me(),
        (error: Error) => error instanceof ServerUnreachableError && error.message.includes(url),
      );
    });
  });

  describe('the client: users, messages, seen, contacts', () => {
    it('finds users by id and name, and pages the directory', async () => {
      const alice = await signUp();
      const found = await alice.client.findUserByUsername(alice.username.toUpperCase());
      assert.equal(found?.id, alice.id);
      assert.equal((await alice.client.getUser(alice.id))?.username, alice.username);
      assert.equal(await alice.client.findUserByUsername(name()), null);
      assert.equal(await alice.client.getUser(randomUUID()), null);
      await signUp();
      const first = await alice.client.listAllUsers({ limit: 1 });
      assert.equal(first.users.length, 1);
      assert.equal(first.hasMore, true);
      const next = await alice.client.listAllUsers({ limit: 1, after: first.users[0]?.id });
      assert.notEqual(next.users[0]?.id, first.users[0]?.id);
    });

    it('searches the directory by the start of a name', async () => {
      const alice = await signUp();
      const start = alice.username.slice(0, -2).toUpperCase();
      const found = await alice.client.searchUsers(start, { limit: 100 });
      assert.ok(
        found.users.every((u) => u.username.toUpperCase().startsWith(start)),
        JSON.stringify(found.users),
      );
      const mine = found.users.find((u) => u.id === alice.id);
      assert.equal(mine?.username, alice.username);
      assert.ok(mine?.createdAt instanceof Date);
      const exact = await alice.client.searchUsers(alice.username, { limit: 1 });
      assert.deepEqual(
        exact.users.map((u) => u.id),
        [alice.id],
      );
      assert.deepEqual(await alice.client.searchUsers(`${alice.username}-nobody`), {
        users: [],
        hasMore: false,
      });
      await assert.rejects(alice.client.searchUsers(''), ValidationError);
      await assert.rejects(alice.client.searchUsers('a', { limit: 101 }), ValidationError);
    });

    it('sends once per id, and reads the inbox and the conversation', async () => {
      const alice = await signUp();
      const bob = await signUp();
      const messageId = randomUUID();
      const sent = await alice.client.send(bob.username, 'hello bob', { messageId });
      assert.equal(sent.replayed, false);
      assert.equal(sent.message.id, messageId);
      assert.equal(sent.message.senderId, alice.id);
      assert.equal(sent.message.receiverId, bob.id);
      assert.ok(sent.message.sentAt instanceof Date);
      const replay = await alice.client.send(bob.username, 'hello bob', { messageId });
      assert.equal(replay.replayed, true);
      assert.equal(replay.message.sentAt.getTime(), sent.message.sentAt.getTime());
      await assert.rejects(
        alice.client.send(bob.username, 'another text', { messageId }),
        (error: Error) => error instanceof MessageIdConflictError && error.messageId === messageId,
      );
      const stranger = name();
      await assert.rejects(
        alice.client.sendMessage(stranger, 'anyone?'),
        (error: Error) =>
          error instanceof UsernameNotFoundError && error.message.includes(stranger),
      );
      const replyId = await bob.client.sendMessage(alice.id, 'hi alice');
      const inbox = await bob.client.listUserMessages();
      assert.deepEqual(
        inbox.messages.map((m) => m.text),
        ['hello bob'],
      );
      const conversation = await alice.client.listConversation(bob.username, { limit: 10 });
      assert.deepEqual(
        conversation.messages.map((m) => m.id),
        [messageId, replyId],
      );
      const older = await alice.client.listConversation(bob.id, { before: replyId });
      assert.deepEqual(
        older.messages.map((m) => m.id),
        [messageId],
      );
      await assert.rejects(
        alice.client.listConversation(bob.id, { before: randomUUID() }),
        CursorNotFoundError,
      );
      const conversations = await alice.client.listConversations({ limit: 5 });
      assert.equal(conversations.length, 1);
      assert.equal(conversations[0]?.with.id, bob.id);
      assert.equal(conversations[0]?.lastMessage?.id, replyId);
      assert.equal(conversations[0]?.unread, 1);
    });

    it('counts unread, and marks seen by id and by conversation', async () => {
      const alice = await signUp();
      const bob = await signUp();
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await alice.client.sendMessage(bob.username, `m${i}`));
      assert.deepEqual(await bob.client.unreadCount(), { total: 3, bySender: { [alice.id]: 3 } });
      assert.equal(await bob.client.markSeen([ids[0] as string]), 1);
      assert.equal(await bob.client.markSeen([ids[0] as string]), 0, 'seen already');
      assert.equal(await bob.client.markConversationSeen(alice.username), 2);
      assert.deepEqual(await bob.client.unreadCount(), { total: 0, bySender: {} });
      await assert.rejects(bob.client.markSeen(['not-an-id']), ValidationError);
      await assert.rejects(bob.client.markConversationSeen(name()), UsernameNotFoundError);
    });

    it('adds, lists and removes contacts', async () => {
      const alice = await signUp();
      const bob = await signUp();
      assert.equal(await alice.client.addContact(bob.username), true);
      assert.equal(await alice.client.addContact(bob.id), false, 'a contact already');
      assert.deepEqual(
        (await alice.client.listContacts()).map((u) => u.id),
        [bob.id],
      );
      assert.equal(await alice.client.removeContact(bob.username), true);
      assert.equal(await alice.client.removeContact(bob.username), false, 'not one any more');
      assert.deepEqual(await alice.client.listContacts(), []);
      await assert.rejects(alice.client.addContact(name()), UsernameNotFoundError);
    });
  });

  describe('the client: sends retried until stored once', () => {
    it('waits out a 429 as long as the server asks, then stores the message once', async () => {
      const strict = await listening({
        rateLimits: { ...ROOMY, sendBurst: 1, sendsPerSecond: 2 },
      });
      try {
        const alice = await signUp(strict.url);
        const bob = await signUp(strict.url);
        await alice.client.sendMessage(bob.username, 'first');
        // The bucket is empty: without time to wait, the 429 comes through, saying how long.
        await assert.rejects(
          alice.client.send(bob.username, 'too soon', { deadlineMs: 0 }),
          (error: Error) =>
            error instanceof RateLimitedError &&
            error.retryAfterMs > 0 &&
            /try again in \d+ s/.test(error.message),
        );
        const startedAt = Date.now();
        const sent = await alice.client.send(bob.username, 'second', { deadlineMs: 5000 });
        assert.ok(Date.now() - startedAt >= 100, 'it waited for the bucket');
        const inbox = await bob.client.listUserMessages();
        assert.deepEqual(
          inbox.messages.map((m) => m.text),
          ['first', 'second'],
        );
        assert.equal(inbox.messages[1]?.id, sent.message.id);
      } finally {
        await strict.server.close();
      }
    });

    it('keeps sending with the same id until a server comes up, and stores it once', async () => {
      const alice = await signUp();
      const bob = await signUp();
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const client = new MessengerClient({ server: url, token: alice.client.token as string });
      const sending = client.send(bob.username, 'sent before the server was up', {
        deadlineMs: 10_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const late = await listening({ port });
      try {
        const sent = await within(10_000, sending, 'the send');
        assert.equal(sent.message.text, 'sent before the server was up');
        const inbox = await bob.client.listUserMessages();
        assert.deepEqual(
          inbox.messages.map((m) => m.id),
          [sent.message.id],
        );
      } finally {
        await late.server.close();
      }
      // With the server gone and no time to wait, the error names it.
      await assert.rejects(
        client.send(bob.username, 'nobody there', { deadlineMs: 0 }),
        ServerUnreachableError,
      );
    });
  });

  describe('the client: the live channel', () => {
    it('resumes across server restarts with no gap and no duplicate', async () => {
      const alice = await signUp();
      const bob = await signUp();
      let live = await listening();
      const port = live.port;
      const bobThere = new MessengerClient({
        server: live.url,
        token: bob.client.token as string,
        WebSocket,
      });
      const received: Message[] = [];
      const changes: boolean[] = [];
      const subscription = await bobThere.subscribe((message) => void received.push(message), {
        ...QUICK,
        onConnectionChange: (connected) => changes.push(connected),
      });
      try {
        const restart = async (during: string[]) => {
          await live.server.close(); // closes bob's socket with 1001
          await eventually(() => !subscription.connected, 5000, 'the socket to drop');
          for (const text of during) await alice.client.sendMessage(bob.username, text);
          live = await listening({ port });
          await eventually(() => subscription.connected, 10_000, 'the subscription to resume');
        };
        // Nothing received yet: what came while away is found from the empty inbox.
        await restart(['away 1']);
        await eventually(() => received.length === 1, 5000, 'the first message');
        for (const text of ['live 1', 'live 2']) await alice.client.sendMessage(bob.username, text);
        await eventually(() => received.length === 3, 5000, 'two live messages');
        await restart(['away 2', 'away 3', 'away 4']);
        await alice.client.sendMessage(bob.username, 'after');
        const expected = ['away 1', 'live 1', 'live 2', 'away 2', 'away 3', 'away 4', 'after'];
        await eventually(() => received.length >= expected.length, 5000, 'every message');
        await new Promise((resolve) => setTimeout(resolve, 200)); // a duplicate would come now
        assert.deepEqual(
          received.map((m) => m.text),
          expected,
        );
        assert.equal(subscription.cursor, received.at(-1)?.id);
        assert.ok(received.every((m) => m.sentAt instanceof Date));
        assert.deepEqual(changes, [false, true, false, true]);
      } finally {
        await subscription.close();
        await live.server.close();
      }
    });

    it('misses nothing stored while an empty inbox reconnects, even just before its hello', async () => {
      const alice = await signUp();
      const bob = await signUp();
      /** Set: the next hello waits until this has run (a message stored in that moment). */
      let beforeHello: (() => Promise<unknown>) | undefined;
      const sockets: WebSocket[] = [];
      class Slow extends WebSocket {
        constructor(...args: ConstructorParameters<typeof WebSocket>) {
          super(...args);
          sockets.push(this);
        }
        override send(data: string): void {
          const first = beforeHello;
          if (!first || !data.includes('"hello"')) {
            super.send(data);
            return;
          }
          beforeHello = undefined;
          void first().then(() => super.send(data));
        }
      }
      const bobThere = new MessengerClient({
        server: base,
        token: bob.client.token as string,
        WebSocket: Slow,
      });
      const received: string[] = [];
      const subscription = await bobThere.subscribe((m) => void received.push(m.text), QUICK);
      try {
        beforeHello = () => alice.client.sendMessage(bob.username, 'just before the hello');
        sockets.at(-1)?.terminate();
        await eventually(() => received.length === 1, 5000, 'the message stored meanwhile');
        await alice.client.sendMessage(bob.username, 'live');
        await eventually(() => received.length === 2, 5000, 'the next one, live');
        assert.deepEqual(received, ['just before the hello', 'live']);
      } finally {
        await subscription.close();
      }
    });

    it('resume says where a subscription stands, for the next one: an empty inbox resumes from the first', async () => {
      const alice = await signUp();
      const bob = await signUp();
      const first = await bob.client.subscribe(() => {});
      assert.deepEqual(first.resume, { fromFirst: true });
      await first.close();
      const away = await alice.client.sendMessage(bob.username, 'while no one listened');
      const received: string[] = [];
      const next = await bob.client.subscribe((m) => void received.push(m.text), first.resume);
      try {
        await eventually(() => received.length === 1, 5000, 'the message sent meanwhile');
        assert.deepEqual(received, ['while no one listened']);
        assert.deepEqual(next.resume, { after: away });
      } finally {
        await next.close();
      }
      await assert.rejects(
        bob.client.subscribe(() => {}, { after: away, fromFirst: true }),
        ValidationError,
      );
    });

    it('replays after a cursor, and tells sends and seen changes apart', async () => {
      const alice = await signUp();
      const bob = await signUp();
      const first = await alice.client.sendMessage(bob.username, 'before');
      await alice.client.sendMessage(bob.username, 'missed');
      const received: string[] = [];
      const sent: string[] = [];
      const seen: unknown[] = [];
      const subscription = await bob.client.subscribe((m) => void received.push(m.text), {
        after: first,
        onSent: (m) => void sent.push(m.text),
        onSeen: (change) => void seen.push(change),
      });
      try {
        await eventually(() => received.length === 1, 5000, 'the replay');
        await bob.client.sendMessage(alice.username, 'from bob');
        await eventually(() => sent.length === 1, 5000, 'his own send');
        await bob.client.markConversationSeen(alice.id);
        await eventually(() => seen.length === 1, 5000, 'the seen change');
        assert.deepEqual(received, ['missed']);
        assert.deepEqual(sent, ['from bob']);
        assert.deepEqual(seen, [{ with: alice.id, marked: 2 }]);
      } finally {
        await subscription.close();
      }
    });

    it('ends with SessionEndedError when the session is logged out, and does not retry', async () => {
      const bob = await signUp();
      const errors: Error[] = [];
      const subscription = await bob.client.subscribe(() => {}, {
        ...QUICK,
        onError: (error) => errors.push(error),
      });
      await bob.client.logout();
      const reason = await within(5000, subscription.ended, 'the subscription to end');
      assert.ok(reason instanceof SessionEndedError, String(reason));
      assert.ok(errors.some((e) => e instanceof SessionEndedError));
      assert.equal(subscription.connected, false);
      // A new subscription on the ended session is refused at once, saying why.
      await assert.rejects(
        bob.client.subscribe(() => {}),
        SessionEndedError,
      );
    });
  });
});
