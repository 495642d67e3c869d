/**
 * Unread counters under dropped connections (issue 13, item 1), on one Redis and on a
 * 3-master cluster: 8 senders to one receiver while other workers mark random messages
 * seen and mark conversations seen, every call retried until it succeeds, and every
 * master's client connections killed (`CLIENT KILL TYPE normal`) every 100-250 ms. On a
 * cluster a mark is several steps (flip each message in its slot, then lower the counter
 * in the user's): a cut between them must be finished by the retry. At the end every
 * counter must equal the number of unseen flags, and listUnreadMessages must list them.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import {
  type Message,
  type RedisMessenger,
  RedisTimeoutError,
  RedisUnavailableError,
} from '../../src/index.js';
import { onEachBackend } from '../support/backends.js';
import { bump, errorName, PendingTracker, prng, report, sleep } from './support/faults.js';

const SENDERS = 8;
const MARKERS = 3;
const CONVERSATION_MARKERS = 2;
const LOAD_MS = 6000;
/** A call not acknowledged by then is a failure of the test, not a retry. */
const RETRY_DEADLINE_MS = 20_000;
const SEED = Number(process.env.FUZZ_SEED ?? 20261126);

onEachBackend((backend) => {
  it(`counters equal the unseen flags after ${LOAD_MS / 1000} s of sends and marks with connections killed every 100-250 ms`, async (t) => {
    const options = { commandTimeoutMs: 1000 };
    const first: RedisMessenger = await backend().messenger(options);
    const random = prng(SEED);
    const tracker = new PendingTracker();
    const failures: Record<string, number> = {};
    const unexpected: Record<string, number> = {};
    const counts = { sends: 0, marks: 0, conversationMarks: 0, kills: 0, attempts: 0 };
    let stop = false;
    let killer: Promise<void> | undefined;
    try {
      const receiver = await first.createUser('receiver');
      const senders: string[] = [];
      for (let i = 0; i < SENDERS; i++) senders.push(await first.createUser(`sender-${i}`));
      const delivered: string[] = [];

      /** Runs `call` until it succeeds; a retry is what a careful caller does. */
      const surely = async <T>(call: () => Promise<T>): Promise<T | undefined> => {
        const started = Date.now();
        for (let attempt = 0; Date.now() - started < RETRY_DEADLINE_MS; attempt++) {
          counts.attempts++;
          try {
            return await tracker.track(call());
          } catch (error) {
            if (error instanceof RedisUnavailableError || error instanceof RedisTimeoutError) {
              bump(failures, error.name);
            } else {
              bump(unexpected, `${errorName(error)}: ${(error as Error)?.message}`);
              return undefined;
            }
            await sleep(Math.min(5 * 2 ** attempt, 100) * (0.5 + random()));
          }
        }
        bump(unexpected, 'not acknowledged within the retry deadline');
        return undefined;
      };

      killer = (async () => {
        while (!stop) {
          await sleep(100 + random() * 150);
          if (stop) break;
          const killed = await backend()
            .eachMaster((node) =>
              node.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']),
            )
            .catch(() => [0]);
          if (killed.some((n) => Number(n) > 0)) counts.kills++;
        }
      })();

      const workers = [
        ...senders.map(async (sender, s) => {
          for (let i = 0; !stop; i++) {
            const messageId = randomUUID();
            const id = await surely(() =>
              first.sendMessage(sender, receiver, `from ${s}: ${i}`, { messageId }),
            );
            if (id) {
              delivered.push(id);
              counts.sends++;
            }
          }
        }),
        ...Array.from({ length: MARKERS }, async () => {
          while (!stop) {
            const batch = Array.from(
              { length: 1 + Math.floor(random() * 5) },
              () => delivered[Math.floor(random() * delivered.length)],
            ).filter((id): id is string => id !== undefined);
            if (batch.length === 0) {
              await sleep(10);
              continue;
            }
            await surely(() => first.markSeen(receiver, batch));
            counts.marks++;
          }
        }),
        ...Array.from({ length: CONVERSATION_MARKERS }, async () => {
          while (!stop) {
            await sleep(50 + random() * 100);
            const sender = senders[Math.floor(random() * senders.length)] as string;
            await surely(() => first.markConversationSeen(receiver, sender));
            counts.conversationMarks++;
          }
        }),
      ];
      await sleep(LOAD_MS);
      stop = true;
      await killer;
      await Promise.all(workers);
      const pending = await tracker.settle(5000);

      // The whole inbox, paged from the newest back: the seen flags as a reader sees them.
      const inbox: Message[] = [];
      for (let before: string | undefined, page = 0; page < 10_000; page++) {
        const { messages, hasOlder } = await first.listUserMessages(receiver, {
          limit: 200,
          ...(before ? { before } : {}),
        });
        inbox.unshift(...messages);
        before = messages[0]?.id;
        if (!hasOlder || !before) break;
      }
      const unseenBySender: Record<string, number> = {};
      for (const message of inbox) if (!message.seen) bump(unseenBySender, message.senderId);
      const unseen = inbox.filter((message) => !message.seen).length;
      const unread = await first.unreadCount(receiver);
      const listed = await first.listUnreadMessages(receiver, { limit: 200 });
      const off = senders.map(
        (sender) => (unread.bySender[sender] ?? 0) - (unseenBySender[sender] ?? 0),
      );

      report(
        t,
        `${backend().kind}: ${counts.sends} sends, ${counts.marks} markSeen, ${counts.conversationMarks} markConversationSeen, ${counts.kills} kill rounds, ${counts.attempts} attempts (failed and retried: ${JSON.stringify(failures)}); inbox ${inbox.length}, unseen flags ${unseen}, counters ${unread.total} (per sender, counter - flags: ${off.join(' ')}); listUnreadMessages ${listed.length}; pending ${pending}; unexpected ${JSON.stringify(unexpected)}`,
      );
      assert.deepEqual(unexpected, {});
      assert.equal(pending, 0, 'promises still pending');
      assert.ok(counts.kills >= 10, `only ${counts.kills} kill rounds happened`);
      assert.equal(inbox.length, delivered.length, 'every acknowledged send is in the inbox');
      assert.deepEqual(off, new Array(SENDERS).fill(0), 'counter - unseen flags, per sender');
      assert.equal(unread.total, unseen);
      assert.equal(listed.length, Math.min(200, unseen));
    } finally {
      stop = true;
      await killer;
      await first.close();
    }
  });
});
