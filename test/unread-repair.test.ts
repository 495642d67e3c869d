/**
 * Counters that repair themselves where they are found wrong (issue 13, item 1). On one
 * Redis, listUnreadMessages walks the inbox until it has as many unseen messages as the
 * counters say: a counter too high made every listing walk the whole inbox. A walk that
 * reaches the oldest entry now corrects it, unless a mark changed it meanwhile. On a
 * cluster, the sets of unseen messages can hold members that are no longer unread (a
 * retention job deleted the message or its inbox entry; a mark cut short after its flip):
 * they are taken out where listUnreadMessages meets them.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { StandaloneBackend } from '../src/core/backend/standalone.js';
import { StandaloneWrites } from '../src/core/backend/standalone-writes.js';
import { Keys } from '../src/core/keys.js';
import { listUnseenInInbox, UNSEEN_STEP } from '../src/core/unseen.js';
import { RedisMessenger } from '../src/index.js';
import type { RedisClient, RedisConnection } from '../src/redis/connect.js';
import { type Backend, onEachBackend } from './support/backends.js';
import { bigInboxMessageId, fillBigInbox } from './support/big-inbox.js';

const INBOX = 3 * UNSEEN_STEP;

/** Script calls Redis has run so far (every master's). */
async function scriptCalls(backend: Backend): Promise<number> {
  const stats = await backend.eachMaster((node) => node.info('commandstats'));
  return stats.reduce(
    (sum, info) => sum + Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0),
    0,
  );
}

/** How many messages of the user's inbox are unseen, by sender, from the flags. */
async function unseenFlags(raw: RedisConnection, keys: Keys, userId: string) {
  const members = await raw.zRange(keys.inbox(userId), 0, -1);
  const hashes = await Promise.all(
    members.map((member) => raw.hmGet(keys.messageOfMember(member), ['sender_id', 'seen'])),
  );
  const bySender: Record<string, number> = {};
  let total = 0;
  for (const [sender, seen] of hashes) {
    if (seen !== 'False' || !sender) continue;
    bySender[sender] = (bySender[sender] ?? 0) + 1;
    total++;
  }
  return { total, bySender };
}

onEachBackend((backend, kind) => {
  const standaloneOnly =
    kind !== 'standalone' && 'one Redis: a cluster reads the sets of unseen messages';
  const clusterOnly = kind !== 'cluster' && 'a cluster: one Redis has no sets of unseen messages';

  /** A messenger under a namespace of its own, its keys, and an inbox of INBOX messages from a to b. */
  async function bigInbox() {
    const namespace = `repair-${randomUUID()}`;
    const keys = new Keys(namespace, kind);
    const m = await RedisMessenger.connect({ ...backend().target, namespace });
    const a = await m.createUser('a');
    const b = await m.createUser('b');
    await fillBigInbox(backend().raw, keys, { a, b }, INBOX);
    return { m, keys, a, b };
  }

  it('a counter too high is corrected by the listing that walked the whole inbox, so the next one walks no more', {
    skip: standaloneOnly,
  }, async () => {
    const { m, keys, a, b } = await bigInbox();
    try {
      const c = await m.createUser('c');
      // All seen but the two newest from a; a's counter says 5, and c's message is counted right.
      await m.markConversationSeen(b, a);
      const unseen = [bigInboxMessageId(INBOX - 2), bigInboxMessageId(INBOX - 1)];
      for (const id of unseen) await backend().raw.hSet(keys.message(id, b), 'seen', 'False');
      await backend().raw.hSet(keys.unread(b), a, '5');
      const fromC = await m.sendMessage(c, b, 'hello');

      const before = await scriptCalls(backend());
      const first = await m.listUnreadMessages(b);
      const walked = (await scriptCalls(backend())) - before;
      assert.deepEqual(
        first.map((message) => message.id),
        [...unseen, fromC],
      );
      assert.ok(walked >= INBOX / UNSEEN_STEP, `the first listing walked in ${walked} scripts`);
      assert.deepEqual(await m.unreadCount(b), await unseenFlags(backend().raw, keys, b));
      assert.deepEqual(await m.unreadCount(b), { total: 3, bySender: { [a]: 2, [c]: 1 } });

      const again = await scriptCalls(backend());
      const second = await m.listUnreadMessages(b);
      assert.deepEqual(second, first);
      assert.equal((await scriptCalls(backend())) - again, 1, 'the second listing is one step');
    } finally {
      await m.close();
    }
  });

  it('a send or a mark during the walk: the counter is corrected only when it is right to', {
    skip: standaloneOnly,
  }, async () => {
    const { m, keys, a, b } = await bigInbox();
    const raw = backend().raw as RedisClient;
    const walker = new StandaloneBackend(keys, raw, raw, 'test', async () => raw);
    try {
      await m.markConversationSeen(b, a);
      const setUp = async () => {
        const unseen = [bigInboxMessageId(INBOX - 2), bigInboxMessageId(INBOX - 1)];
        for (const id of unseen) await raw.hSet(keys.message(id, b), 'seen', 'False');
        await raw.hSet(keys.unread(b), a, '5');
        return unseen;
      };
      /** Runs each step, and `during` once after the walk's first read of hashes. */
      const walkWith = (during: () => Promise<unknown>) => {
        let steps = 0;
        return listUnseenInInbox(walker, raw, b, 5, async (operation) => {
          const result = await operation();
          if (++steps === 2) await during();
          return result;
        });
      };

      // A send after the walk began: appended above it, counted by the send. The walk's
      // two plus that one: a correction that did not tell sends apart would say 2.
      await setUp();
      await walkWith(() => m.sendMessage(a, b, 'during the walk'));
      assert.deepEqual(await m.unreadCount(b), { total: 3, bySender: { [a]: 3 } });
      assert.deepEqual(await m.unreadCount(b), await unseenFlags(raw, keys, b));

      // A mark of a message the walk already found: the counter is left as it is (too
      // high, never too low), and the next listing corrects it.
      await m.markConversationSeen(b, a);
      const unseen = await setUp();
      await walkWith(() => m.markSeen(b, [unseen[1] as string]));
      assert.deepEqual(await m.unreadCount(b), { total: 4, bySender: { [a]: 4 } });
      assert.deepEqual(
        (await m.listUnreadMessages(b)).map((message) => message.id),
        [unseen[0]],
      );
      assert.deepEqual(await m.unreadCount(b), { total: 1, bySender: { [a]: 1 } });
    } finally {
      await m.close();
    }
  });

  it('markConversationSeen that walked the whole conversation corrects a counter too high, sends meanwhile counted', {
    skip: standaloneOnly,
  }, async () => {
    const { m, keys, a, b } = await bigInbox();
    const raw = backend().raw as RedisClient;
    try {
      await m.markConversationSeen(b, a);
      const setUp = async () => {
        const unseen = [bigInboxMessageId(INBOX - 2), bigInboxMessageId(INBOX - 1)];
        for (const id of unseen) await raw.hSet(keys.message(id, b), 'seen', 'False');
        await raw.hSet(keys.unread(b), a, '5');
      };
      await setUp();
      assert.equal(await m.markConversationSeen(b, a), 2);
      assert.deepEqual(await m.unreadCount(b), { total: 0, bySender: {} });
      const before = await scriptCalls(backend());
      await m.sendMessage(a, b, 'after');
      assert.equal(await m.markConversationSeen(b, a), 1);
      assert.equal((await scriptCalls(backend())) - before, 2, 'the send, and one step');

      // A send after the walk began: the walk does not reach it, and it stays counted.
      await setUp();
      const writes = new StandaloneWrites(raw, keys);
      let steps = 0;
      let during = '';
      const marked = await writes.markConversationSeen(b, a, async (operation) => {
        const result = await operation();
        if (++steps === 1) during = await m.sendMessage(a, b, 'during the walk');
        return result;
      });
      assert.equal(marked, 2);
      assert.deepEqual(await m.unreadCount(b), { total: 1, bySender: { [a]: 1 } });
      assert.deepEqual(
        (await m.listUnreadMessages(b)).map((message) => message.id),
        [during],
      );
    } finally {
      await m.close();
    }
  });

  it('members of the sets of unseen messages that are not unread are taken out where listUnreadMessages meets them', {
    skip: clusterOnly,
  }, async () => {
    const namespace = `prune-${randomUUID()}`;
    const keys = new Keys(namespace, kind);
    const raw = backend().raw;
    const m = await RedisMessenger.connect({ ...backend().target, namespace });
    try {
      const a = await m.createUser('a');
      const b = await m.createUser('b');
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push(await m.sendMessage(a, b, `message ${i}`));
      const [kept, deleted, removedFromInbox, flipped, kept2, wrongType] = ids as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      await raw.del(keys.message(deleted, b)); // a retention job deleted the message
      await raw.zRem(keys.inbox(b), keys.messageMember(removedFromInbox, b)); // or only its inbox entry
      await raw.hSet(keys.message(flipped, b), 'seen', 'True'); // a mark cut short after its flip
      await raw.del(keys.message(wrongType, b));
      await raw.set(keys.message(wrongType, b), 'not a hash');
      assert.equal((await m.unreadCount(b)).total, 6);

      assert.deepEqual(
        (await m.listUnreadMessages(b)).map((message) => message.id),
        [kept, kept2],
      );
      assert.deepEqual(
        await raw.zRange(keys.unseen(b, a), 0, -1),
        [kept, kept2].map((id) => keys.messageMember(id, b)),
      );
      assert.deepEqual(await m.unreadCount(b), { total: 2, bySender: { [a]: 2 } });

      // A counter that drifted from its set (written by something else) is set to its size.
      await raw.hSet(keys.unread(b), a, '7');
      assert.equal((await m.listUnreadMessages(b)).length, 2);
      assert.deepEqual(await m.unreadCount(b), { total: 2, bySender: { [a]: 2 } });
    } finally {
      await m.close();
    }
  });

  it('hundreds of stale members above the one unread are taken out in pages, by one listing', {
    skip: clusterOnly,
  }, async () => {
    const { m, keys, a, b } = await bigInbox();
    const raw = backend().raw;
    try {
      // Every message but the oldest deleted by a retention job, its set member left.
      await Promise.all(
        Array.from({ length: INBOX - 1 }, (_, n) =>
          raw.del(keys.message(bigInboxMessageId(n + 1), b)),
        ),
      );
      const before = await scriptCalls(backend());
      assert.deepEqual(
        (await m.listUnreadMessages(b)).map((message) => message.id),
        [bigInboxMessageId(0)],
      );
      const prunes = (await scriptCalls(backend())) - before;
      assert.ok(prunes <= 2 + INBOX / 100, `${prunes} scripts`);
      assert.equal(await raw.zCard(keys.unseen(b, a)), 1);
      assert.deepEqual(await m.unreadCount(b), { total: 1, bySender: { [a]: 1 } });
    } finally {
      await m.close();
    }
  });
});
