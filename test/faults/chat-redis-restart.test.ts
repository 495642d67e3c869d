/**
 * `messenger chat` as a real process across a Redis restart (AOF on): what was typed
 * while Redis did not answer is retried with its id and stored once, and the chat comes
 * back by itself. Moved from test/chat.test.ts to the fault tests: it waits out restarts.
 */
import '../support/config-home.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { RedisMessenger } from '../../src/index.js';
import { Chat, killAllChats, ready, sleep, withChats } from '../support/chat-process.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';

after(() => killAllChats());

describe('messenger chat across a Redis restart', () => {
  let durable: RedisServer;
  let messenger: RedisMessenger;

  before(async () => {
    durable = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
    messenger = await RedisMessenger.connect({ url: durable.url, commandTimeoutMs: 1000 });
  });
  after(async () => {
    await messenger?.close();
    await durable?.stop();
  });

  /** Sends with a fixed id until Redis takes it: a retry can never store it twice. */
  async function sendUntilStored(from: string, to: string, text: string): Promise<string> {
    const messageId = randomUUID();
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        return await messenger.sendMessage(from, to, text, { messageId });
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(100);
      }
    }
  }

  it('a message typed while Redis does not answer is retried with its id, and stored once', async () => {
    const dora = await messenger.createUser('dora');
    const erin = await messenger.createUser('erin');
    await withChats(durable.url, ['dora'], async (chat) => {
      await ready(chat);
      await chat.command('/to erin', 'No messages yet. Say hello!\n');
      // /to is done only once it has marked the conversation seen, after the history:
      // lines are handled in order, so an answer to the next one says it is.
      await chat.command('/history 1', 'No messages yet. Say hello!\n');
      durable.signal('SIGSTOP');
      try {
        chat.send('into the void');
        await chat.waitFor('Not confirmed yet', 0, 15_000);
        // Typed while the first is unconfirmed: held back, shown as pending, never dropped.
        await chat.command(
          'and then this',
          'Pending: "and then this" is sent once your earlier message is confirmed (1 ahead of it).\n',
        );
        await chat.command(
          'and this too',
          'Pending: "and this too" is sent once your earlier message is confirmed (2 ahead of it).\n',
        );
      } finally {
        durable.signal('SIGCONT');
      }
      await chat.waitFor('you: and this too\n', 0, 15_000);
      for (const text of ['into the void', 'and then this', 'and this too']) {
        assert.equal(chat.count(`you: ${text}\n`), 1, text);
      }
      const shown = ['into the void', 'and then this', 'and this too'].map((t) =>
        chat.stdout.indexOf(`you: ${t}\n`),
      );
      assert.deepEqual(
        shown,
        [...shown].sort((x, y) => x - y),
        'shown in the order typed',
      );
      // Stored once each, in the order they were typed.
      const page = await messenger.listConversation(dora, erin);
      assert.deepEqual(
        page.messages.map((m) => m.text),
        ['into the void', 'and then this', 'and this too'],
      );
    });
  });

  it('quitting with a message Redis never confirmed says so and exits 1', async () => {
    await messenger.createUser('fay');
    await messenger.createUser('gus');
    const chat = new Chat('fay', durable.url);
    try {
      await ready(chat);
      await chat.command('/to gus', 'No messages yet. Say hello!\n');
      await chat.command('/history 1', 'No messages yet. Say hello!\n'); // /to is done
      durable.signal('SIGKILL');
      chat.send('lost in the outage');
      await chat.waitFor('Not confirmed yet');
      chat.end();
      assert.equal(await chat.exitCode(10_000), 1);
      assert.match(chat.stdout, /Waiting for Redis to confirm your message to gus/);
      assert.match(
        chat.stderr,
        /^error: your message to gus was not confirmed by Redis and may not have been sent: "lost in the outage" \(id ([0-9a-f-]{36})\); to send it again, stored once: npm run messenger -- send fay gus 'lost in the outage' --id \1 --redis redis:\/\/127\.0\.0\.1:\d+\n$/,
      );
    } finally {
      chat.kill();
      await durable.restart();
      // The next test uses the messenger at once: wait until it has reconnected.
      for (let i = 0; i < 100; i++) {
        if (await messenger.findUserByUsername('fay').then(Boolean, () => false)) break;
        await sleep(100);
      }
    }
  });

  it('says so, reconnects, and shows every message sent meanwhile exactly once', async () => {
    const alice = await messenger.createUser('alice');
    const bob = await messenger.createUser('bob');
    const carol = await messenger.createUser('carol');
    await withChats(durable.url, ['bob'], async (chat) => {
      await ready(chat);
      await chat.command('/to alice', 'No messages yet. Say hello!\n');
      await messenger.sendMessage(alice, bob, 'before the restart');
      await chat.waitFor(`alice: before the restart\n`);

      // 1. Restarted at once: the sends race the restart, each retried with its own id.
      let since = chat.mark();
      const restarting = durable.restart();
      const quick = ['during 1', 'during 2', 'during 3'];
      for (const text of quick) await sendUntilStored(alice, bob, text);
      const fromCarol = sendUntilStored(carol, bob, 'carol meanwhile');
      await restarting;
      await fromCarol;
      let lost = await chat.waitFor('Lost the connection to Redis', since);
      let back = await chat.waitFor('Reconnected to Redis', since);
      assert.ok(lost < back, 'reconnected before it lost the connection');
      for (const text of quick) await chat.waitFor(`alice: ${text}\n`, since);
      await chat.waitFor('New message from carol: carol meanwhile', since);

      // 2. Messages stored before the chat can subscribe again: the chat process is frozen
      // (SIGSTOP) while Redis restarts and they are sent, so only catching up can show
      // them, and it does so before it says it is back.
      since = chat.mark();
      durable.signal('SIGKILL');
      lost = await chat.waitFor('Lost the connection to Redis', since);
      chat.child.kill('SIGSTOP');
      const away = ['while away 1', 'while away 2'];
      try {
        await durable.restart();
        for (const text of away) await sendUntilStored(alice, bob, text);
        await sendUntilStored(carol, bob, 'carol while away');
      } finally {
        chat.child.kill('SIGCONT');
      }
      back = await chat.waitFor('Reconnected to Redis', since);
      assert.ok(lost < back, 'reconnected before it lost the connection');
      for (const text of away) {
        const shown = await chat.waitFor(`alice: ${text}\n`, since);
        assert.ok(shown < back, `"${text}" was not caught up before "Reconnected"`);
      }
      await chat.waitFor('New message from carol: carol while away', since);

      // sent after it is back: live again
      await sendUntilStored(alice, bob, 'after the restart');
      await chat.waitFor('alice: after the restart\n', since);
      // Delivered in order: once this later message shows, a duplicate of any earlier one
      // would have shown before it.
      await sendUntilStored(carol, bob, 'carol marks the end');
      await chat.waitFor('New message from carol: carol marks the end', since);
      const texts = [...quick, ...away];
      for (const text of ['before the restart', ...texts, 'after the restart']) {
        assert.equal(
          chat.count(`alice: ${text}\n`),
          1,
          `"${text}" shown ${chat.count(text)} times`,
        );
      }
      assert.equal(chat.count('carol meanwhile'), 1);
      assert.equal(chat.count('carol while away'), 1);
      assert.equal(chat.count('Lost the connection'), 2);
      assert.equal(chat.count('Reconnected'), 2);
      // in order, as sent
      const order = [...texts, 'after the restart'].map((t) =>
        chat.stdout.indexOf(`alice: ${t}\n`),
      );
      assert.deepEqual(
        order,
        [...order].sort((x, y) => x - y),
      );

      // each stored once, and the chat can still send
      const page = await messenger.listConversation(bob, alice);
      assert.deepEqual(
        page.messages.map((m) => m.text),
        ['before the restart', ...texts, 'after the restart'],
      );
      await chat.command('I am still here', 'you: I am still here\n');
      assert.equal(
        (await messenger.listConversation(bob, alice)).messages.at(-1)?.text,
        'I am still here',
      );
      chat.send('/quit');
      assert.equal(await chat.exitCode(), 0);
    });
  });
});
