/**
 * Bounded work per Redis call (issue 13, item 3), on one Redis: a script blocks every
 * other client while it runs, so markConversationSeen over a conversation of 150,000
 * unseen messages must walk it in short steps. A latency probe (PING after PING on a
 * connection of its own) runs beside it; its slowest round trip is what any other user
 * of that Redis would have waited. (On a cluster the walk goes through the set of unseen
 * messages, 100 at a time: bounded by construction.)
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { Keys, messageMember } from '../../src/core/keys.js';
import { messengerIn, percentile, report } from './support/faults.js';
import { redisForThisFile } from './support/server.js';

const MESSAGES = 150_000;
const PROBE_LIMIT_MS = 100;

const redis = redisForThisFile();

it(`markConversationSeen over ${MESSAGES.toLocaleString('en')} unseen messages never holds Redis for ${PROBE_LIMIT_MS} ms`, async (t) => {
  const namespace = `walk-${randomUUID()}`;
  const m = await messengerIn(redis.url, namespace);
  try {
    const keys = new Keys(namespace);
    const [a, b] = [await m.createUser('a'), await m.createUser('b')];
    // Stored directly, as the send script would have stored them, in batches.
    const start = Math.floor(Date.now() / 1000) - MESSAGES;
    for (let first = 0; first < MESSAGES; first += 5000) {
      const batch = redis.raw.multi();
      for (let i = first; i < Math.min(MESSAGES, first + 5000); i++) {
        const id = randomUUID();
        const timestamp = `${start + i}.000000`;
        batch.hSet(keys.message(id), {
          message_id: id,
          sender_id: a,
          receiver_id: b,
          message: `${i}`,
          timestamp,
          seen: 'False',
        });
        batch.zAdd(keys.conversation(a, b), { score: start + i, value: messageMember(id) });
        batch.zAdd(keys.inbox(b), { score: start + i, value: messageMember(id) });
      }
      await batch.exec();
    }
    await redis.raw.hSet(keys.unread(b), a, String(MESSAGES));

    // A connection of its own, so that nothing of the test's waits before its PINGs: its
    // round trips are what any other client of this Redis waits.
    const probe = await redis.client();
    const latencies: number[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const sent = performance.now();
        await probe.ping();
        latencies.push(performance.now() - sent);
      }
    })();
    const started = performance.now();
    const marked = await m.markConversationSeen(b, a);
    const took = performance.now() - started;
    probing = false;
    await prober;

    const slowest = Math.max(...latencies);
    report(
      t,
      `markConversationSeen of ${marked} unseen: ${took.toFixed(0)} ms in all; probe: ${latencies.length} PINGs meanwhile, p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms, slowest ${slowest.toFixed(1)} ms`,
    );
    assert.equal(marked, MESSAGES);
    assert.deepEqual(await m.unreadCount(b), { total: 0, bySender: {} });
    assert.ok(latencies.length > 10, 'the probe ran beside the walk');
    assert.ok(slowest < PROBE_LIMIT_MS, `a PING waited ${slowest.toFixed(1)} ms`);
  } finally {
    await m.close();
  }
});
