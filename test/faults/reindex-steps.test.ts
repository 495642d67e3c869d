/**
 * reindex has a deadline per step, not one for the whole run (issue 13, item 3): each
 * step (a chunk of an inbox, a step of the unread recount) gets `commandTimeoutMs`, as
 * markConversationSeen's do. A big inbox takes many steps, so the run may last far longer
 * than one deadline; a Redis that stops answering fails the run within one deadline,
 * and nothing more of it runs once its caller was told it failed. Before, reindex had
 * no deadline at all: it waited out a paused Redis and went on. The same holds for its
 * first pass, over the names the original program wrote.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { Keys } from '../../src/core/keys.js';
import { RedisMessenger, RedisTimeoutError, RedisUnavailableError } from '../../src/index.js';
import { type Backend, onEachBackend } from '../support/backends.js';
import { fillBigInbox } from '../support/big-inbox.js';
import { report, sleep } from './support/faults.js';

const MESSAGES = 50_000;
/** Names as the original program writes them (only `usernames`): enough for many batches. */
const NAMES = 40_000;
const PAUSE_MS = 2500;

/** Commands of the kinds reindex sends, every master's, so far. */
async function reindexCommands(backend: Backend): Promise<number> {
  const stats = await backend.eachMaster((node) => node.info('commandstats'));
  let calls = 0;
  for (const info of stats) {
    for (const [, name, count] of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) {
      if (['zrange', 'hmget', 'evalsha', 'zadd', 'hset', 'hgetall'].includes(name as string)) {
        calls += Number(count);
      }
    }
  }
  return calls;
}

onEachBackend((backend, kind) => {
  async function bigInbox(commandTimeoutMs: number) {
    const namespace = `reindex-${randomUUID()}`;
    const keys = new Keys(namespace, kind);
    const m = await RedisMessenger.connect({ ...backend().target, namespace, commandTimeoutMs });
    const a = await m.createUser('a');
    const b = await m.createUser('b');
    await fillBigInbox(backend().raw, keys, { a, b }, MESSAGES);
    return { m, a, b };
  }

  it(`reindex of a ${MESSAGES.toLocaleString('en')}-message inbox completes, each step with a deadline of its own`, async (t) => {
    const commandTimeoutMs = 2000;
    const { m, a, b } = await bigInbox(commandTimeoutMs);
    try {
      const started = performance.now();
      const result = await m.reindex();
      const took = performance.now() - started;
      report(
        t,
        `${kind}: reindex of ${MESSAGES} messages in ${took.toFixed(0)} ms, commandTimeoutMs ${commandTimeoutMs}`,
      );
      assert.equal(result.messages, MESSAGES);
      assert.equal(result.users, 2);
      assert.deepEqual(await m.unreadCount(b), { total: MESSAGES, bySender: { [a]: MESSAGES } });
    } finally {
      await m.close();
    }
  });

  it('a paused Redis fails reindex within one deadline, and nothing of it runs after', async (t) => {
    const commandTimeoutMs = 300;
    const { m } = await bigInbox(commandTimeoutMs);
    try {
      const run = m.reindex().then(
        () => 'completed',
        (error: unknown) => error,
      );
      await sleep(300);
      const pausedAt = performance.now();
      await backend().eachMaster((node) =>
        node.sendCommand(['CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL']),
      );
      const outcome = await run;
      const failedAfter = performance.now() - pausedAt;
      // What was in flight when the deadline passed runs when the pause ends; then nothing.
      await sleep(PAUSE_MS - failedAfter + 500);
      const settled = await reindexCommands(backend());
      await sleep(1000);
      const later = await reindexCommands(backend());
      report(
        t,
        `${kind}: reindex ${outcome instanceof Error ? outcome.name : outcome} ${failedAfter.toFixed(0)} ms into a ${PAUSE_MS} ms pause (commandTimeoutMs ${commandTimeoutMs}); commands in the second after: ${later - settled}`,
      );
      assert.ok(
        outcome instanceof RedisTimeoutError || outcome instanceof RedisUnavailableError,
        `reindex ended with ${String(outcome)}`,
      );
      assert.ok(failedAfter < PAUSE_MS - 500, `reindex failed ${failedAfter} ms into the pause`);
      assert.equal(later - settled, 0, 'reindex went on after it failed');
    } finally {
      await m.close();
    }
  });

  it('a paused Redis fails reindex within one deadline in its pass over the names too', async (t) => {
    const commandTimeoutMs = 300;
    const namespace = `reindex-names-${randomUUID()}`;
    const keys = new Keys(namespace, kind);
    const m = await RedisMessenger.connect({ ...backend().target, namespace, commandTimeoutMs });
    try {
      for (let first = 0; first < NAMES; first += 1000) {
        const batch: Record<string, string> = {};
        for (let n = first; n < first + 1000; n++) batch[`legacy${n}`] = randomUUID();
        await backend().raw.hSet(keys.usernames, batch);
      }
      const run = m.reindex().then(
        () => 'completed',
        (error: unknown) => error,
      );
      await sleep(200);
      const indexed = await backend().raw.hLen(keys.foldedUsernames);
      const pausedAt = performance.now();
      await backend().eachMaster((node) =>
        node.sendCommand(['CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL']),
      );
      const outcome = await run;
      const failedAfter = performance.now() - pausedAt;
      report(
        t,
        `${kind}: reindex over ${NAMES} legacy names, paused with ${indexed} indexed: ${outcome instanceof Error ? outcome.name : outcome} ${failedAfter.toFixed(0)} ms into a ${PAUSE_MS} ms pause (commandTimeoutMs ${commandTimeoutMs})`,
      );
      assert.ok(indexed < NAMES, 'the pause came after the name pass: make NAMES larger');
      assert.ok(
        outcome instanceof RedisTimeoutError || outcome instanceof RedisUnavailableError,
        `reindex ended with ${String(outcome)}`,
      );
      assert.ok(failedAfter < PAUSE_MS - 500, `reindex failed ${failedAfter} ms into the pause`);
      await sleep(PAUSE_MS);
    } finally {
      await m.close();
    }
  });
});
