/**
 * Bounded work per Redis call (issue 13, item 3): a script blocks every other client while
 * it runs, so no call the messenger makes may grow with an inbox or a conversation. Beside
 * each big operation on a big inbox: Redis's SLOWLOG (the slowest single command, timed by
 * the server) and a latency probe (PINGs from a worker thread on connections of their
 * own). Before: one script over the whole inbox or conversation, 470 ms to 7 s at 200,000
 * messages. The bounds leave a wide margin for this shared, noisy machine; the goal, and
 * what `npm run bench:bounded` measures at 1,000,000, is 10 ms.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { recountUnreadStreamed } from '../../src/core/backend/cluster-recount.js';
import { StandaloneWrites } from '../../src/core/backend/standalone-writes.js';
import type { StepRunner } from '../../src/core/backend/writes.js';
import { Keys } from '../../src/core/keys.js';
import { scripts } from '../../src/core/scripts.js';
import { RedisMessenger } from '../../src/index.js';
import type { RedisClient, RedisCluster } from '../../src/redis/connect.js';
import { onEachBackend } from '../support/backends.js';
import { fillBigInbox, unseenAtTheBottom } from '../support/big-inbox.js';
import { resetSlowlog, slowestLogged, startLatencyProbe } from '../support/latency-probe.js';
import { report } from './support/faults.js';

/** Runs each step as it comes, with no deadline: the run times the steps itself. */
const now: StepRunner = (step) => step();
const scriptNames = new Map(Object.values(scripts).map((script) => [script.sha, script.name]));
const MESSAGES = { standalone: 200_000, cluster: 100_000 };
const SLOWEST_COMMAND_MS = 50;
/**
 * The probe's 99th percentile: its slowest PING alone also measures how long this busy
 * machine left the probe's thread unscheduled (SLOWLOG says what Redis did meanwhile).
 */
const PROBE_P99_MS = 50;
/** reindex's recount on a cluster held about 5 KB of heap per message of the inbox (500 MB here). */
const HEAP_LIMIT_MB = 300;

onEachBackend((backend, kind) => {
  const messages = MESSAGES[kind];
  it(`no call holds Redis for ${SLOWEST_COMMAND_MS} ms with ${messages.toLocaleString('en')} messages in one inbox`, async (t) => {
    const namespace = `bounded-${randomUUID()}`;
    const keys = new Keys(namespace, kind);
    const m = await RedisMessenger.connect({
      ...backend().target,
      namespace,
      commandTimeoutMs: 60_000,
    });
    const masters = await backend().eachMaster(async (node) => node);
    try {
      const a = await m.createUser('a');
      const b = await m.createUser('b');
      await fillBigInbox(backend().raw, keys, { a, b }, messages);

      const bounded = async <T>(call: string, operation: () => Promise<T>): Promise<T> => {
        await resetSlowlog(masters);
        const probe = await startLatencyProbe(masters);
        const heapBefore = process.memoryUsage().heapUsed;
        let heapPeak = heapBefore;
        const sampler = setInterval(() => {
          heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
        }, 10);
        const started = performance.now();
        const result = await operation();
        const took = performance.now() - started;
        clearInterval(sampler);
        const pings = await probe.stop();
        const slowest = await slowestLogged(masters);
        const heapMb = (heapPeak - heapBefore) / 1e6;
        report(
          t,
          `${call}: ${took.toFixed(0)} ms in all; slowest command ${slowest.ms.toFixed(1)} ms (${scriptNames.get(slowest.command.split(' ')[1] ?? '') ?? (slowest.command.split(' ')[0] || 'none over 1 ms')}); probe: ${pings.pings} PINGs, p99 ${pings.p99Ms.toFixed(1)} ms, slowest ${pings.slowestMs.toFixed(1)} ms; heap +${heapMb.toFixed(0)} MB`,
        );
        assert.ok(slowest.ms < SLOWEST_COMMAND_MS, `${call}: one command ran ${slowest.ms} ms`);
        assert.ok(pings.p99Ms < PROBE_P99_MS, `${call}: PINGs waited ${pings.p99Ms} ms (p99)`);
        assert.ok(heapMb < HEAP_LIMIT_MB, `${call}: heap grew by ${heapMb.toFixed(0)} MB`);
        return result as T;
      };

      // reindex's unread recount, as reindex calls it: one script over the whole inbox on one
      // Redis, the whole inbox in memory on a cluster. (Its other pass, the conversations,
      // is one single-key command per entry, 500 at a time: test/reindex.test.ts.)
      const writes =
        kind === 'cluster'
          ? {
              recountUnread: (user: string) =>
                recountUnreadStreamed(backend().raw as RedisCluster, keys, user, now),
            }
          : new StandaloneWrites(backend().raw as RedisClient, keys);
      await bounded("reindex's unread recount", () => writes.recountUnread(b, now));
      assert.deepEqual(await m.unreadCount(b), { total: messages, bySender: { [a]: messages } });
      if (kind === 'cluster') {
        // There listUnreadMessages reads the sets of unseen messages, and markConversationSeen
        // walks them, 100 at a time: bounded by construction. The oldest alone unseen:
        await backend().raw.del(keys.unseen(b, a));
        const oldest = await unseenAtTheBottom(backend().raw, keys, { a, b });
        const unread = await bounded('listUnreadMessages', () => m.listUnreadMessages(b));
        assert.deepEqual(
          unread.map((message) => message.id),
          [oldest],
        );
        return;
      }
      // Each step has the deadline, not the walk: with 0.5 s a step, a walk of seconds ends.
      const stepping = await RedisMessenger.connect({
        ...backend().target,
        namespace,
        commandTimeoutMs: 500,
      });
      try {
        const marked = await bounded('markConversationSeen, all unseen', () =>
          stepping.markConversationSeen(b, a),
        );
        assert.equal(marked, messages);
      } finally {
        await stepping.close();
      }
      const oldest = await unseenAtTheBottom(backend().raw, keys, { a, b });
      const unread = await bounded('listUnreadMessages, one unseen at the bottom', () =>
        m.listUnreadMessages(b),
      );
      assert.deepEqual(
        unread.map((message) => message.id),
        [oldest],
      );
      const last = await bounded('markConversationSeen, one unseen at the bottom', () =>
        m.markConversationSeen(b, a),
      );
      assert.equal(last, 1);
      assert.deepEqual(await m.unreadCount(b), { total: 0, bySender: {} });
    } finally {
      await m.close();
    }
  });
});
