/**
 * Fault 2: the messengers' connections are killed (`CLIENT KILL TYPE normal`) every
 * 20-50 ms while 10,000 sends with caller message ids go on, at most 128 in flight, each
 * retried with a small backoff until it is acknowledged → lost 0 (every acknowledged id is
 * in the inbox), duplicated 0 (inbox, conversation and unread count are exactly 10,000),
 * promises still pending at the end 0.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { type RedisMessenger, RedisTimeoutError, RedisUnavailableError } from '../../src/index.js';
import {
  bump,
  errorName,
  inspectNamespace,
  messengerIn,
  PendingTracker,
  report,
  sleep,
} from './support/faults.js';
import { redisForThisFile } from './support/server.js';

const SENDS = 10_000;
const IN_FLIGHT = 128;
const DEADLINE_MS = 120_000;

const redis = redisForThisFile();

it(`${SENDS} sends survive connections killed every 20-50 ms: none lost, none twice`, async (t) => {
  const namespace = `kill-${randomUUID()}`;
  const options = { commandTimeoutMs: 1000 };
  const senders = await Promise.all([
    messengerIn(redis.url, namespace, options),
    messengerIn(redis.url, namespace, options),
  ]);
  const first = senders[0] as RedisMessenger;
  const tracker = new PendingTracker();
  const started = Date.now();
  let kills = 0;
  let stopKilling = false;
  let killer: Promise<void> | undefined;
  try {
    const [a, b] = [await first.createUser('a'), await first.createUser('b')];
    const ids = Array.from({ length: SENDS }, () => randomUUID());
    const acked = new Set<string>();
    const failures: Record<string, number> = {};
    const unexpected: Record<string, number> = {};
    let attempts = 0;

    killer = (async () => {
      while (!stopKilling) {
        await sleep(20 + Math.random() * 30);
        if (stopKilling) break;
        const killed = await redis.raw
          .sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'])
          .catch(() => 0);
        if (Number(killed) > 0) kills++;
      }
    })();

    /** One send, retried with the same id (small growing backoff) until acknowledged. */
    const sendSurely = async (i: number): Promise<void> => {
      const messageId = ids[i] as string;
      const sender = senders[i % senders.length] as RedisMessenger;
      for (let attempt = 0; Date.now() - started < DEADLINE_MS; attempt++) {
        attempts++;
        try {
          const id = await tracker.track(sender.sendMessage(a, b, `message ${i}`, { messageId }));
          assert.equal(id, messageId);
          acked.add(messageId);
          return;
        } catch (error) {
          if (error instanceof RedisUnavailableError || error instanceof RedisTimeoutError) {
            bump(failures, error.name);
          } else {
            bump(unexpected, `${errorName(error)}: ${(error as Error)?.message}`);
            return;
          }
          await sleep(Math.min(5 * 2 ** attempt, 200) * (0.5 + Math.random()));
        }
      }
    };

    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < SENDS) await sendSurely(next++);
      }),
    );
    stopKilling = true;
    await killer;
    const pending = await tracker.settle(5000);
    const sendSeconds = (Date.now() - started) / 1000;

    const inbox = (await redis.raw.zRange(`${namespace}:user_messages:${b}`, 0, -1)).map((m) =>
      m.replace(/^message:/, ''),
    );
    const inInbox = new Set(inbox);
    const lost = [...acked].filter((id) => !inInbox.has(id)).length;
    const duplicated = inbox.length - inInbox.size + Math.max(0, inInbox.size - SENDS);
    const unread = await first.unreadCount(b);
    const state = await inspectNamespace(redis.raw, `${namespace}:`);
    const ambiguousFailures = Object.values(failures).reduce((x, y) => x + y, 0);

    report(
      t,
      `client kill: ${SENDS} sends, ${kills} kills, ${attempts} attempts (${ambiguousFailures} failed and retried: ${JSON.stringify(failures)}), acked ${acked.size}, lost ${lost}, duplicated ${duplicated}, pending ${pending}, inbox ${inbox.length}, conversation ${state.conversationEntries}, message hashes ${state.messages.size}, unread ${unread.total}, dangling ${state.dangling.length}, orphans ${state.orphans.length}, unexpected errors ${JSON.stringify(unexpected)}, ${sendSeconds.toFixed(1)} s`,
    );
    assert.deepEqual(unexpected, {});
    assert.equal(acked.size, SENDS, 'every send was acknowledged before the deadline');
    assert.equal(lost, 0, 'acknowledged but not in the inbox');
    assert.equal(duplicated, 0);
    assert.equal(pending, 0, 'promises still pending');
    assert.equal(inbox.length, SENDS);
    assert.equal(state.conversationEntries, SENDS);
    assert.equal(state.messages.size, SENDS);
    assert.equal(unread.total, SENDS);
    assert.deepEqual(state.dangling, []);
    assert.deepEqual(state.orphans, []);
    assert.deepEqual(state.incomplete, []);
    assert.deepEqual(state.unreadMismatches, []);
    assert.ok(kills >= 10, `only ${kills} kills happened`);
    const texts = new Set([...state.messages.values()].map((m) => m.text));
    assert.equal(texts.size, SENDS, 'every stored message has its own text');
  } finally {
    stopKilling = true;
    await killer;
    await Promise.all(senders.map((m) => m.close()));
  }
});
