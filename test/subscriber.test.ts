/**
 * The shared subscriber: every subscription of a messenger listens on one pub/sub
 * connection (one per master on a cluster); several subscriptions of one user share one
 * channel; a slow or failing handler holds up no one else and its queue is bounded; the
 * user's own sends and seen changes reach their subscriptions. Connections and channels
 * are counted on the Redis side (CLIENT LIST, PUBSUB NUMSUB), not taken from the client.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Keys } from '../src/core/keys.js';
import { QUEUE_LIMIT } from '../src/core/live.js';
import type { Message, RedisMessenger, SeenChange } from '../src/index.js';
import { type Backend, listenersOf, onEachBackend } from './support/backends.js';
import { eventually, retryUnconfirmed } from './support/wait.js';

/** Pub/sub connections the Redis side holds, over every master. */
async function pubSubConnections(backend: Backend): Promise<number> {
  const lists = await backend.eachMaster((node) =>
    node.sendCommand(['CLIENT', 'LIST', 'TYPE', 'pubsub']),
  );
  return lists
    .map(
      (list) =>
        String(list)
          .split('\n')
          .filter((line) => line.trim() !== '').length,
    )
    .reduce((a, b) => a + b, 0);
}

/** Every connection the Redis side holds, over every master. */
async function connections(backend: Backend): Promise<number> {
  const counts = await backend.eachMaster(async (node) => {
    const info = await node.info('clients');
    return Number(/connected_clients:(\d+)/.exec(info)?.[1]);
  });
  return counts.reduce((a, b) => a + b, 0);
}

/** What `read` returns once it returns `expected`, or after 5 s what it returns then. */
async function settled<T>(read: () => Promise<T>, expected: T): Promise<T> {
  const deadline = Date.now() + 5000;
  let value = await read();
  while (value !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}

async function createUsers(m: RedisMessenger, count: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => m.createUser(`u${i}-${randomUUID().slice(0, 8)}`)),
  );
}

/** A messenger under a namespace the test knows, and the channel names it uses. */
async function messengerWithKeys(backend: Backend) {
  const namespace = `test-${randomUUID()}`;
  const m = await backend.messenger({ namespace });
  const keys = new Keys(namespace, backend.kind);
  return { m, namespace, channel: (user: string) => keys.inboxChannel(user) };
}

onEachBackend((backend) => {
  describe('the shared subscriber', () => {
    it('1,000 subscriptions share one pub/sub connection (one per master), each with its own messages', async () => {
      const before = await pubSubConnections(backend());
      const m = await backend().messenger();
      const opened = await connections(backend());
      try {
        const [sender, ...receivers] = await createUsers(m, 101);
        const received: string[][] = Array.from({ length: 1000 }, () => []);
        const subscriptions = await Promise.all(
          received.map((texts, i) =>
            m.subscribe(receivers[i % 100] as string, (message) => void texts.push(message.text)),
          ),
        );
        const masters = (await backend().eachMaster(async () => 1)).length;
        const held = (await pubSubConnections(backend())) - before;
        assert.ok(
          held >= 1 && held <= masters,
          `${held} pub/sub connections (masters: ${masters})`,
        );
        await Promise.all(
          receivers.map((receiver, r) => m.sendMessage(sender as string, receiver, `to ${r}`)),
        );
        await eventually(
          () => received.every((texts) => texts.length >= 1),
          10_000,
          'every subscription to deliver',
        );
        received.forEach((texts, i) => void assert.deepEqual(texts, [`to ${i % 100}`]));
        await Promise.all(subscriptions.map((s) => s.close()));
        // On a cluster the sharded subscriptions share the connection each master already
        // has for commands (RESP3); on one Redis the pub/sub connection is one more.
        const added = backend().kind === 'cluster' ? 0 : held;
        assert.equal(await connections(backend()), opened + added, 'subscribing opened only those');
      } finally {
        await m.close();
      }
      assert.equal(
        await settled(() => pubSubConnections(backend()), before),
        before,
        'close() ends the connections',
      );
    });

    it('after CLIENT KILL TYPE pubsub under load, every subscription has its whole inbox, once, in order', async () => {
      const namespace = `test-${randomUUID()}`;
      const reader = await backend().messenger({ namespace, commandTimeoutMs: 2000 });
      const writer = await backend().messenger({ namespace });
      try {
        const [sender, ...receivers] = await createUsers(writer, 21);
        const got: { receiver: string; ids: string[] }[] = [];
        for (const receiver of receivers) {
          for (let k = 0; k < 5; k++) {
            const entry = { receiver, ids: [] as string[] };
            got.push(entry);
            await reader.subscribe(receiver, (message) => void entry.ids.push(message.id));
          }
        }
        const total = 1000;
        let sent = 0;
        const sending = Promise.all(
          Array.from({ length: 4 }, async () => {
            while (sent < total) {
              const to = receivers[sent++ % receivers.length] as string;
              const messageId = randomUUID();
              await retryUnconfirmed(() =>
                writer.sendMessage(sender as string, to, 'x', { messageId }),
              );
            }
          }),
        );
        let kills = 0;
        while (sent < total && kills < 10) {
          await new Promise((r) => setTimeout(r, 40));
          await backend().eachMaster((node) => node.clientKill({ filter: 'TYPE', type: 'pubsub' }));
          kills++;
        }
        await sending;
        assert.ok(kills >= 3, `only ${kills} kills happened`);
        const inboxes = new Map<string, string[]>();
        for (const receiver of receivers) {
          const { messages } = await writer.listUserMessages(receiver, { limit: 100 });
          inboxes.set(
            receiver,
            messages.map((x) => x.id),
          );
        }
        await eventually(
          () =>
            got.every(({ receiver, ids }) => ids.length >= (inboxes.get(receiver)?.length ?? 0)),
          20_000,
          'every subscription to catch up',
        );
        for (const { receiver, ids } of got) assert.deepEqual(ids, inboxes.get(receiver));
      } finally {
        await reader.close();
        await writer.close();
      }
    });

    it("two subscriptions of one user share one channel; closing one leaves the other's alone", async () => {
      const { m, channel } = await messengerWithKeys(backend());
      try {
        const [a, b] = await createUsers(m, 2);
        const first: string[] = [];
        const second: string[] = [];
        const one = await m.subscribe(b as string, (x) => void first.push(x.text));
        const two = await m.subscribe(b as string, (x) => void second.push(x.text));
        assert.equal(await listenersOf(backend(), channel(b as string)), 1);
        await m.sendMessage(a as string, b as string, 'to both');
        await eventually(() => first.length === 1 && second.length === 1);
        await one.close();
        assert.equal(await listenersOf(backend(), channel(b as string)), 1, 'still held by two');
        await m.sendMessage(a as string, b as string, 'to the second');
        await eventually(() => second.length === 2);
        assert.deepEqual(first, ['to both']);
        assert.deepEqual(second, ['to both', 'to the second']);
        await two.close();
        assert.equal(await listenersOf(backend(), channel(b as string)), 0, 'left by the last');
      } finally {
        await m.close();
      }
    });

    it('opening and closing subscriptions, 300 times, opens no connection and leaves no channel', async () => {
      const { m, channel } = await messengerWithKeys(backend());
      try {
        const people = await createUsers(m, 3);
        // Held open throughout: on a cluster each person's master has its connection.
        const warm = await Promise.all(people.map((person) => m.subscribe(person, () => {})));
        const held = await connections(backend());
        for (let i = 0; i < 300; i++) {
          const s = await m.subscribe(people[i % 3] as string, () => {});
          await s.close();
        }
        assert.equal(await connections(backend()), held);
        await Promise.all(warm.map((s) => s.close()));
        for (const person of people) assert.equal(await listenersOf(backend(), channel(person)), 0);
      } finally {
        await m.close();
      }
    });

    it('a handler that never returns holds up no other subscription, and its queue stays bounded', async () => {
      const m = await backend().messenger();
      try {
        const [a, slow, quick] = await createUsers(m, 3);
        let release = () => {};
        const released = new Promise<void>((resolve) => {
          release = resolve;
        });
        const slowGot: Message[] = [];
        const quickGot: string[] = [];
        const stuck = await m.subscribe(slow as string, async (message) => {
          slowGot.push(message);
          await released;
        });
        await m.subscribe(quick as string, (message) => void quickGot.push(message.text));
        let mostQueued = 0;
        const sampling = setInterval(() => {
          mostQueued = Math.max(mostQueued, stuck.queued);
        }, 1);
        const total = 50 * Math.ceil((QUEUE_LIMIT * 2 + 1) / 50);
        for (let i = 0; i < total; i += 50) {
          await Promise.all(
            Array.from({ length: 50 }, (_, k) =>
              m.sendMessage(a as string, slow as string, `slow ${i + k}`),
            ),
          );
          mostQueued = Math.max(mostQueued, stuck.queued);
        }
        await m.sendMessage(a as string, quick as string, 'not held up');
        await eventually(() => quickGot.length === 1, 5000, 'the other subscription');
        clearInterval(sampling);
        assert.ok(mostQueued <= QUEUE_LIMIT, `queued ${mostQueued} (bound ${QUEUE_LIMIT})`);
        release();
        await eventually(
          () => slowGot.length === total,
          20_000,
          'the slow handler to catch up',
        ).catch((e) => {
          throw new Error(
            `${e.message}: ${slowGot.length} of ${total}, queued ${stuck.queued}, distinct ${new Set(slowGot.map((x) => x.id)).size}`,
          );
        });
        const { messages } = await m.listUserMessages(slow as string, { limit: 100 });
        assert.deepEqual(
          slowGot.slice(-100).map((x) => x.id),
          messages.map((x) => x.id),
          'in inbox order',
        );
        assert.equal(new Set(slowGot.map((x) => x.id)).size, total, 'each once');
      } finally {
        await m.close();
      }
    });

    it("tells a user's subscriptions what the user sent and marked seen, from anywhere", async () => {
      const m = await backend().messenger();
      try {
        const [a, b] = await createUsers(m, 2);
        const sent: Message[] = [];
        const seen: SeenChange[] = [];
        const inbox: string[] = [];
        await m.subscribe(a as string, (message) => void inbox.push(message.text), {
          onSent: (message) => void sent.push(message),
          onSeen: (change) => void seen.push(change),
        });
        const { message } = await m.send(a as string, b as string, 'from another device');
        await eventually(() => sent.length === 1);
        assert.deepEqual(sent, [message]);
        const reply = await m.sendMessage(b as string, a as string, 'a reply');
        await eventually(() => inbox.length === 1);
        assert.equal(await m.markSeen(a as string, [reply]), 1);
        await eventually(() => seen.length === 1);
        assert.deepEqual(seen[0], { messageIds: [reply], marked: 1 });
        await m.sendMessage(b as string, a as string, 'another');
        await eventually(() => inbox.length === 2);
        assert.equal(await m.markConversationSeen(a as string, b as string), 1);
        await eventually(() => seen.length === 2);
        assert.deepEqual(seen[1], { with: b, marked: 1 });
        // Nothing new to mark: nothing to tell.
        assert.equal(await m.markConversationSeen(a as string, b as string), 0);
        await m.sendMessage(b as string, a as string, 'last');
        await eventually(() => inbox.length === 3);
        assert.equal(seen.length, 2);
        assert.deepEqual(inbox, ['a reply', 'another', 'last'], 'own sends are not inbox messages');
      } finally {
        await m.close();
      }
    });
  });

  describe('send', () => {
    it('returns the message as stored, and the same message on a retry', async () => {
      const m = await backend().messenger();
      try {
        const [a, b] = await createUsers(m, 2);
        const messageId = randomUUID();
        const first = await m.send(a as string, b as string, 'hello\nthere 👋', { messageId });
        assert.equal(first.replayed, false);
        const { messages } = await m.listUserMessages(b as string);
        assert.deepEqual(messages, [first.message]);
        await m.markSeen(b as string, [messageId]);
        const again = await m.send(a as string, b as string, 'hello\nthere 👋', { messageId });
        assert.equal(again.replayed, true);
        assert.deepEqual(again.message, { ...first.message, seen: true });
        assert.equal(
          await m.sendMessage(a as string, b as string, 'hello\nthere 👋', { messageId }),
          messageId,
        );
      } finally {
        await m.close();
      }
    });
  });
});

onEachBackend((backend) => {
  describe('subscribe with a signal', () => {
    it('aborted during the first replay, it stops reading the inbox and closes', async () => {
      const m = await backend().messenger();
      try {
        const [a, b] = await createUsers(m, 2);
        const first = await m.sendMessage(a as string, b as string, 'the cursor');
        for (let i = 0; i < 1000; i += 100) {
          await Promise.all(
            Array.from({ length: 100 }, (_, k) =>
              m.sendMessage(a as string, b as string, `m${i + k}`),
            ),
          );
        }
        const gone = new AbortController();
        let delivered = 0;
        const subscription = await m.subscribe(
          b as string,
          () => {
            if (++delivered === 10) gone.abort();
          },
          { after: first, signal: gone.signal },
        );
        assert.ok(delivered < 200, `${delivered} of 1,000 delivered after the abort`);
        await m.sendMessage(a as string, b as string, 'after the abort');
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.ok(delivered < 200, 'closed: nothing more');
        await subscription.close(); // closed already: a no-op
        await assert.rejects(
          m.subscribe(b as string, () => {}, { signal: gone.signal }),
          /aborted/,
        );
      } finally {
        await m.close();
      }
    });
  });
});
