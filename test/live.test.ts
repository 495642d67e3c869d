import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  CursorNotFoundError,
  type Message,
  type RedisMessenger,
  UserNotFoundError,
} from '../src/index.js';
import { type Backend, onEachBackend } from './support/backends.js';
import { eventually, retryUnconfirmed } from './support/wait.js';

/**
 * Sends, retrying with the same message id while the outcome is unconfirmed (connections
 * are being killed), for at most 20 s; any other error fails the test at once.
 */
function sendSurely(m: RedisMessenger, from: string, to: string, text: string): Promise<string> {
  const messageId = randomUUID();
  return retryUnconfirmed(() => m.sendMessage(from, to, text, { messageId }));
}

// A cluster of one shard too, where a send is one script that rings the doorbells itself.
onEachBackend(liveTests, { clusterOfOneShard: true });

function liveTests(backend: () => Backend): void {
  describe('subscribe', () => {
    it('delivers new messages live, in order, with the stored fields', async () => {
      const m = await backend().messenger();
      try {
        const [a, b] = [await m.createUser('a'), await m.createUser('b')];
        await m.sendMessage(a, b, 'before subscribing');
        const received: Message[] = [];
        const subscription = await m.subscribe(b, (message) => {
          received.push(message);
        });
        for (let i = 0; i < 20; i++) await m.sendMessage(a, b, `live ${i}`);
        await m.sendMessage(b, a, 'sent by b: not in b inbox');
        await eventually(() => received.length >= 20);
        await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(
          received.map((x) => x.text),
          Array.from({ length: 20 }, (_, i) => `live ${i}`),
        );
        const { messages } = await m.listUserMessages(b, { limit: 20 });
        assert.deepEqual(received, messages);
        assert.equal(subscription.cursor, messages.at(-1)?.id);
        await subscription.close();
      } finally {
        await m.close();
      }
    });

    it('first catches up from a cursor, then goes on live', async () => {
      const m = await backend().messenger();
      try {
        const [a, b] = [await m.createUser('a'), await m.createUser('b')];
        const ids = [];
        for (let i = 0; i < 5; i++) ids.push(await m.sendMessage(a, b, `old ${i}`));
        const received: string[] = [];
        const subscription = await m.subscribe(b, (message) => void received.push(message.text), {
          after: ids[1],
        });
        assert.deepEqual(
          received,
          ['old 2', 'old 3', 'old 4'],
          'backlog delivered before subscribe resolves',
        );
        await m.sendMessage(a, b, 'new');
        await eventually(() => received.length === 4);
        assert.equal(received[3], 'new');
        await subscription.close();
      } finally {
        await m.close();
      }
    });

    it('fromFirst delivers the whole inbox first: how a null cursor resumes', async () => {
      const m = await backend().messenger();
      try {
        const [a, b] = [await m.createUser('a'), await m.createUser('b')];
        const empty = await m.subscribe(b, () => {});
        assert.equal(empty.cursor, null, 'began on an empty inbox');
        await empty.close();
        await m.sendMessage(a, b, 'while away 1');
        await m.sendMessage(a, b, 'while away 2');
        const received: string[] = [];
        const subscription = await m.subscribe(b, (message) => void received.push(message.text), {
          fromFirst: true,
        });
        assert.deepEqual(received, ['while away 1', 'while away 2']);
        await m.sendMessage(a, b, 'live');
        await eventually(() => received.length === 3);
        assert.equal(received[2], 'live');
        await subscription.close();
        await assert.rejects(
          m.subscribe(b, () => {}, { after: subscription.cursor as string, fromFirst: true }),
          /after or fromFirst, not both/,
        );
      } finally {
        await m.close();
      }
    });

    it('refuses an unknown user or a cursor not in the inbox', async () => {
      const m = await backend().messenger();
      try {
        const [a, b] = [await m.createUser('a'), await m.createUser('b')];
        const fromB = await m.sendMessage(b, a, 'in a inbox, not b');
        await assert.rejects(
          m.subscribe(randomUUID(), () => {}),
          UserNotFoundError,
        );
        await assert.rejects(
          m.subscribe(b, () => {}, { after: fromB }),
          CursorNotFoundError,
        );
      } finally {
        await m.close();
      }
    });

    it('keeps going when a handler throws, and reports the error', async () => {
      const m = await backend().messenger();
      try {
        const [a, b] = [await m.createUser('a'), await m.createUser('b')];
        const received: string[] = [];
        const errors: Error[] = [];
        const subscription = await m.subscribe(
          b,
          (message) => {
            received.push(message.text);
            if (message.text === 'boom') throw new Error('handler failed');
          },
          { onError: (error) => errors.push(error) },
        );
        await m.sendMessage(a, b, 'boom');
        await m.sendMessage(a, b, 'after');
        await eventually(() => received.length === 2);
        assert.deepEqual(received, ['boom', 'after']);
        assert.equal(errors[0]?.message, 'handler failed');
        await subscription.close();
      } finally {
        await m.close();
      }
    });

    it('stops cleanly: no delivery after close, and its connection is gone', async () => {
      const m = await backend().messenger();
      try {
        const [a, b] = [await m.createUser('a'), await m.createUser('b')];
        const pubsubClients = async () =>
          (await backend().eachMaster((node) => node.clientList()))
            .flat()
            .filter((c) => c.flags.includes('P') || Number(c.sub) > 0 || Number(c.ssub) > 0).length;
        const received: string[] = [];
        const subscription = await m.subscribe(b, (message) => void received.push(message.text));
        assert.equal(await pubsubClients(), 1);
        await subscription.close();
        await subscription.close();
        await m.sendMessage(a, b, 'too late');
        await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(received, []);
        assert.equal(await pubsubClients(), 0);
      } finally {
        await m.close();
      }
    });

    it('after its connections are killed while messages keep coming, delivers every one, once, in order', async () => {
      const sender = await backend().messenger();
      const namespace = `live-kill-${Date.now()}`;
      const { RedisMessenger } = await import('../src/index.js');
      const reader = await RedisMessenger.connect({
        ...backend().target,
        namespace,
        commandTimeoutMs: 2000,
      });
      const writer = await RedisMessenger.connect({ ...backend().target, namespace });
      try {
        const [a, b] = [await writer.createUser('a'), await writer.createUser('b')];
        const received: string[] = [];
        const changes: boolean[] = [];
        const subscription = await reader.subscribe(
          b,
          (message) => void received.push(message.text),
          {
            onConnectionChange: (connected) => changes.push(connected),
          },
        );
        const total = 600;
        let kills = 0;
        const sending = (async () => {
          for (let i = 0; i < total; i++) await sendSurely(writer, a, b, `m${i}`);
        })();
        // Kill the subscriber's connection (and now and then every normal one, the reader's
        // and the writer's included) while the sends go on.
        while (received.length < total && kills < 12) {
          await new Promise((r) => setTimeout(r, 40));
          await backend().eachMaster(async (node) => {
            await node.clientKill({ filter: 'TYPE', type: 'pubsub' });
            if (kills % 3 === 2)
              await node.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']);
          });
          kills++;
        }
        await sending;
        await eventually(
          () => received.length >= total,
          20_000,
          `${total} messages (got ${received.length})`,
        );
        await eventually(
          () => changes.at(-1) === true,
          5000,
          'the subscription to report it is connected',
        );
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(received.length, total, 'duplicates delivered');
        assert.deepEqual(
          received,
          Array.from({ length: total }, (_, i) => `m${i}`),
        );
        assert.ok(kills >= 3, `only ${kills} kills happened`);
        assert.ok(
          changes.includes(false) && changes.at(-1) === true,
          `connection changes: ${changes}`,
        );
        await subscription.close();
      } finally {
        await reader.close();
        await writer.close();
        await sender.close();
      }
    });
  });
}
