/**
 * Fault 3: `kill -9` of a redis-server running with `--appendonly yes --appendfsync
 * always` in the middle of concurrent sends (and seen marks), then a restart from its
 * AOF; twice. → every acknowledged message is there exactly once, no inbox or
 * conversation entry points at a missing message hash, no message hash is missing from
 * its indexes, and the unread counters match the stored `seen` flags. A send that failed
 * may or may not be stored (ambiguous): those are counted, not judged.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, it } from 'node:test';
import type { RedisClientType } from 'redis';
import {
  RedisCommandError,
  type RedisMessenger,
  RedisTimeoutError,
  RedisUnavailableError,
} from '../../src/index.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import {
  bump,
  errorName,
  inspectNamespace,
  messengerIn,
  PendingTracker,
  rawClient,
  report,
  sleep,
} from './support/faults.js';

const WORKERS = 32;
const USERS = 6;
const CRASHES = 2;

let server: RedisServer;

after(async () => {
  await server?.stop();
});

/** Errors a call may fail with while Redis is down or loading its AOF after a restart. */
function expectedOutage(error: unknown): boolean {
  return (
    error instanceof RedisUnavailableError ||
    error instanceof RedisTimeoutError ||
    (error instanceof RedisCommandError && /LOADING/.test(error.message))
  );
}

interface Sent {
  from: string;
  to: string;
  text: string;
}

// kill -9 ends the process, not the machine: what Redis wrote to the page cache survives,
// so `everysec` loses nothing here either (telling it from `always` takes a power loss).
for (const fsync of ['always', 'everysec'] as const) {
  it(`kill -9 of an appendfsync-${fsync} Redis during sends, restarted ${CRASHES} times: no acknowledged message lost`, async (t) => {
    await server?.stop();
    server = await startRedisServer(['--appendonly', 'yes', '--appendfsync', fsync]);
    await crashDuringSends(t, fsync);
  });
}

it('positive control: with no persistence, kill -9 loses every acknowledged message, and this harness sees it', async (t) => {
  await server?.stop();
  server = await startRedisServer(['--appendonly', 'no', '--save', '']);
  const m = await messengerIn(server.url, `control-${randomUUID()}`, { commandTimeoutMs: 1000 });
  try {
    const [a, b] = [await m.createUser('a'), await m.createUser('b')];
    for (let i = 0; i < 100; i++) await m.sendMessage(a, b, `m${i}`);
    server.signal('SIGKILL');
    await sleep(150);
    await server.restart();
    let inbox: number | undefined;
    for (let i = 0; i < 50 && inbox === undefined; i++) {
      const raw: RedisClientType = await rawClient(server.url).catch(() => undefined as never);
      if (raw) {
        inbox = await raw.dbSize();
        await raw.close();
      } else await sleep(100);
    }
    report(t, `no persistence: acked 100, keys left after kill -9 ${inbox}`);
    assert.equal(inbox, 0, 'a Redis without persistence kept data across kill -9');
  } finally {
    await m.close();
  }
});

async function crashDuringSends(
  t: { diagnostic(message: string): void },
  fsync: string,
): Promise<void> {
  const namespace = `crash-${randomUUID()}`;
  const prefix = `${namespace}:`;
  const messengers: RedisMessenger[] = await Promise.all([
    messengerIn(server.url, namespace, { commandTimeoutMs: 1000 }),
    messengerIn(server.url, namespace, { commandTimeoutMs: 1000 }),
  ]);
  const tracker = new PendingTracker();
  const started = Date.now();
  let stop = false;
  let workers: Promise<void>[] = [];
  try {
    const first = messengers[0] as RedisMessenger;
    const users: string[] = [];
    for (let i = 0; i < USERS; i++) users.push(await first.createUser(`user${i}`));
    const acked = new Map<string, Sent>();
    const failed = new Map<string, Sent>();
    const failures: Record<string, number> = {};
    const unexpected: Record<string, number> = {};
    let seenCalls = 0;
    let seenMarked = 0;
    let n = 0;
    const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)] as T;

    const worker = async (w: number) => {
      const messenger = messengers[w % messengers.length] as RedisMessenger;
      while (!stop) {
        const roll = Math.random();
        try {
          if (roll < 0.1 && acked.size > 0) {
            // Mark a few received messages seen, now and then a whole conversation.
            const receiver = pick(users);
            const mine = [...acked].filter(([, s]) => s.to === receiver).slice(-20);
            seenCalls++;
            if (roll < 0.02 && mine.length > 0) {
              const sender = (mine[0] as [string, Sent])[1].from;
              seenMarked += await tracker.track(messenger.markConversationSeen(receiver, sender));
            } else {
              const ids = mine.filter(() => Math.random() < 0.3).map(([id]) => id);
              seenMarked += await tracker.track(messenger.markSeen(receiver, ids));
            }
          } else {
            const from = pick(users);
            let to = pick(users);
            while (to === from) to = pick(users);
            const id = randomUUID();
            const sent = { from, to, text: `message ${n++} from worker ${w}` };
            try {
              await tracker.track(messenger.sendMessage(from, to, sent.text, { messageId: id }));
              acked.set(id, sent);
            } catch (error) {
              failed.set(id, sent);
              throw error;
            }
          }
        } catch (error) {
          if (expectedOutage(error))
            bump(
              failures,
              error instanceof RedisCommandError ? 'RedisCommandError LOADING' : errorName(error),
            );
          else bump(unexpected, `${errorName(error)}: ${(error as Error)?.message}`);
          await sleep(20);
        }
      }
    };
    workers = Array.from({ length: WORKERS }, (_, w) => worker(w));

    const crashes: string[] = [];
    for (let crash = 0; crash < CRASHES; crash++) {
      await sleep(700 + Math.random() * 600);
      const before = acked.size;
      server.signal('SIGKILL');
      await sleep(150);
      await server.restart();
      crashes.push(`crash ${crash + 1} after ${before} acks`);
    }
    // Let the messengers reconnect and send a little more after the last restart.
    const afterLastRestart = acked.size;
    const deadline = Date.now() + 10_000;
    while (acked.size < afterLastRestart + 200 && Date.now() < deadline) await sleep(50);
    stop = true;
    await Promise.all(workers);
    const pending = await tracker.settle(5000);

    const raw: RedisClientType = await rawClient(server.url);
    let state: Awaited<ReturnType<typeof inspectNamespace>>;
    try {
      state = await inspectNamespace(raw, prefix);
    } finally {
      await raw.close();
    }
    let lost = 0;
    let wrong = 0;
    let notInIndexes = 0;
    for (const [id, sent] of acked) {
      const stored = state.messages.get(id);
      if (!stored) {
        lost++;
        continue;
      }
      if (stored.sender !== sent.from || stored.receiver !== sent.to || stored.text !== sent.text)
        wrong++;
      const inbox = state.inboxes.get(sent.to) ?? [];
      if (inbox.filter((member) => member === `message:${id}`).length !== 1) notInIndexes++;
    }
    const ambiguousStored = [...failed.keys()].filter((id) => state.messages.has(id)).length;
    const unaccounted = [...state.messages.keys()].filter(
      (id) => !acked.has(id) && !failed.has(id),
    ).length;
    const texts = [...state.messages.values()].map((m) => m.text);
    const duplicated = texts.length - new Set(texts).size;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);

    report(
      t,
      `redis crash (appendfsync ${fsync}): ${crashes.join(', ')}; acked ${acked.size}, lost ${lost}, wrong ${wrong}, duplicated ${duplicated}, missing from inbox ${notInIndexes}, failed sends ${failed.size} (ambiguous: ${ambiguousStored} stored, ${failed.size - ambiguousStored} not), unaccounted ${unaccounted}, dangling entries ${state.dangling.length}, orphan hashes ${state.orphans.length}, incomplete hashes ${state.incomplete.length}, unread mismatches ${state.unreadMismatches.length} (unread total ${state.unreadTotal}, ${seenCalls} seen calls marked ${seenMarked}), pending ${pending}, errors ${JSON.stringify(failures)}, unexpected ${JSON.stringify(unexpected)}, ${seconds} s`,
    );
    assert.deepEqual(unexpected, {});
    assert.equal(lost, 0, 'acknowledged messages lost');
    assert.equal(wrong, 0);
    assert.equal(duplicated, 0);
    assert.equal(notInIndexes, 0);
    assert.equal(unaccounted, 0);
    assert.deepEqual(state.dangling, []);
    assert.deepEqual(state.orphans, []);
    assert.deepEqual(state.incomplete, []);
    assert.deepEqual(state.unreadMismatches, []);
    assert.equal(pending, 0);
    assert.ok(acked.size > afterLastRestart, 'sends worked again after the last restart');
    assert.ok(failed.size > 0, 'the crashes hit sends in flight');
  } finally {
    stop = true;
    await Promise.all(workers);
    await Promise.all(messengers.map((m) => m.close()));
  }
}
