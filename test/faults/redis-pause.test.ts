/**
 * Fault 4: Redis paused (SIGSTOP) for 3 s under load, with commandTimeoutMs 1000 → every
 * call either succeeds or fails with RedisTimeoutError / RedisUnavailableError within
 * its timeout plus a small margin, none hangs (every call settles), and new calls succeed
 * again after SIGCONT.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { type RedisMessenger, RedisTimeoutError, RedisUnavailableError } from '../../src/index.js';
import {
  bump,
  errorName,
  idle,
  messengerIn,
  PendingTracker,
  percentile,
  report,
  sleep,
} from './support/faults.js';
import { redisForThisFile } from './support/server.js';

const TIMEOUT_MS = 1000;
/** Allowed beyond the timeout: timers and the event loop of a busy 2-core machine. */
const MARGIN_MS = 250;
const PAUSE_MS = 3000;
const WORKERS = 16;

const redis = redisForThisFile();

interface Call {
  op: string;
  start: number;
  ms: number;
  outcome: string;
}

it('a Redis paused for 3 s under load: every call settles within its timeout; work resumes', async (t) => {
  const namespace = `pause-${randomUUID()}`;
  const messengers: RedisMessenger[] = await Promise.all([
    messengerIn(redis.url, namespace, { commandTimeoutMs: TIMEOUT_MS }),
    messengerIn(redis.url, namespace, { commandTimeoutMs: TIMEOUT_MS }),
  ]);
  const tracker = new PendingTracker();
  const calls: Call[] = [];
  let stop = false;
  let workers: Promise<void>[] = [];
  let pausedAt = 0;
  let resumedAt = 0;
  try {
    const first = messengers[0] as RedisMessenger;
    const [a, b] = [await first.createUser('a'), await first.createUser('b')];
    for (let i = 0; i < 100; i++) await first.sendMessage(a, b, `seed ${i}`);

    const operations: [string, (m: RedisMessenger) => Promise<unknown>][] = [
      ['sendMessage', (m) => m.sendMessage(a, b, 'under load')],
      ['getUser', (m) => m.getUser(a)],
      ['findUserByUsername', (m) => m.findUserByUsername('B')],
      ['listUserMessages', (m) => m.listUserMessages(b, { limit: 20 })],
      ['unreadCount', (m) => m.unreadCount(b)],
      ['listConversations', (m) => m.listConversations(a)],
      ['markConversationSeen', (m) => m.markConversationSeen(b, a)],
      ['listAllUsers', (m) => m.listAllUsers({ limit: 10 })],
      ['createUser', (m) => m.createUser(`u-${randomUUID().slice(0, 8)}`)],
    ];

    const worker = async (w: number) => {
      const messenger = messengers[w % messengers.length] as RedisMessenger;
      for (let i = w; !stop; i++) {
        const [op, call] = operations[i % operations.length] as (typeof operations)[number];
        const start = performance.now();
        let outcome = 'ok';
        try {
          await tracker.track(call(messenger));
        } catch (error) {
          outcome = errorName(error);
          if (!(error instanceof RedisTimeoutError || error instanceof RedisUnavailableError))
            outcome = `unexpected ${outcome}: ${(error as Error)?.message}`;
        }
        calls.push({ op, start, ms: performance.now() - start, outcome });
        await sleep(2);
      }
    };
    workers = Array.from({ length: WORKERS }, (_, w) => worker(w));

    await sleep(500);
    pausedAt = performance.now();
    redis.server.signal('SIGSTOP');
    await sleep(PAUSE_MS);
    redis.server.signal('SIGCONT');
    resumedAt = performance.now();
    await sleep(1500);
    stop = true;
    // Every worker must come back: a hung call would keep its worker (and this) waiting.
    const settled = await Promise.race([
      Promise.all(workers).then(() => true),
      idle(TIMEOUT_MS * 3).then(() => false),
    ]);
    const pending = tracker.size;

    // New calls after the pause must succeed.
    const resumed = await Promise.allSettled([
      first.sendMessage(a, b, 'after the pause'),
      first.listUserMessages(b, { limit: 5 }),
      (messengers[1] as RedisMessenger).unreadCount(b),
    ]);
    const resumedOk = resumed.filter((r) => r.status === 'fulfilled').length;

    const outcomes: Record<string, number> = {};
    for (const call of calls) bump(outcomes, call.outcome);
    const durations = calls.map((c) => c.ms);
    const slowest = [...calls].sort((x, y) => y.ms - x.ms).slice(0, 3);
    const late = calls.filter((c) => c.ms > TIMEOUT_MS + MARGIN_MS);
    const lateByOp: Record<string, number> = {};
    for (const call of late) bump(lateByOp, call.op);
    const maxByOp: Record<string, number> = {};
    for (const call of calls)
      maxByOp[call.op] = Math.max(maxByOp[call.op] ?? 0, Math.round(call.ms));
    // (20 ms after SIGSTOP, so that the signal has surely landed.)
    const duringPause = calls.filter(
      (c) => c.start >= pausedAt + 20 && c.start + c.ms <= resumedAt,
    );
    const okAfter = calls.filter((c) => c.start > resumedAt + 200 && c.outcome === 'ok').length;

    report(
      t,
      `redis pause ${PAUSE_MS} ms (commandTimeoutMs ${TIMEOUT_MS}): ${calls.length} calls, outcomes ${JSON.stringify(outcomes)}, max ${Math.round(Math.max(...durations))} ms, p99 ${Math.round(percentile(durations, 99))} ms, over ${TIMEOUT_MS + MARGIN_MS} ms ${late.length} ${JSON.stringify(lateByOp)}, slowest ${slowest.map((c) => `${c.op} ${Math.round(c.ms)} ms ${c.outcome}`).join('; ')}, calls that began and ended in the pause ${duringPause.length}, ok after resume ${okAfter}, pending ${pending}, all settled ${settled}, new calls ok ${resumedOk}/3`,
    );
    report(t, `redis pause: max ms by operation ${JSON.stringify(maxByOp)}`);
    assert.equal(settled, true, 'a worker hung');
    assert.equal(pending, 0, 'calls still pending');
    assert.deepEqual(
      Object.keys(outcomes).filter((o) => o.startsWith('unexpected')),
      [],
    );
    assert.ok((outcomes.RedisTimeoutError ?? 0) > 0, 'the pause made some calls time out');
    assert.ok(
      duringPause.every((c) => c.outcome !== 'ok'),
      'a call succeeded while paused',
    );
    assert.equal(resumedOk, 3, 'calls after SIGCONT succeed');
    assert.ok(okAfter > 0, 'the workers got going again');
    assert.deepEqual(
      late.map((c) => `${c.op} ${Math.round(c.ms)} ms ${c.outcome}`),
      [],
      `calls slower than ${TIMEOUT_MS} + ${MARGIN_MS} ms`,
    );
  } finally {
    redis.server.signal('SIGCONT');
    stop = true;
    await Promise.race([Promise.all(workers), idle(5000)]);
    await Promise.all(messengers.map((m) => m.close()));
  }
});
