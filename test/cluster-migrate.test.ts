/**
 * `messenger migrate`: a Redis Cluster written in cluster layout 1 (by earlier versions)
 * is refused by `connect`, and after the migration reads exactly as it did, in layout 2,
 * with layout 1's keys gone; a run cut short is refused too, and finished by running it
 * again. Layout 1 is written here key by key as its sends wrote it (docs/schema.md kept
 * its description: "Moving from layout 1").
 */
import assert from 'node:assert/strict';
import './support/config-home.js';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { main } from '../src/cli/main.js';
import { Keys, messageMember } from '../src/core/keys.js';
import { ClusterLayoutError, RedisMessenger } from '../src/index.js';
import type { RedisConnection } from '../src/redis/connect.js';
import { startBackend } from './support/backends.js';
import { capture } from './support/capture.js';

let backend: Awaited<ReturnType<typeof startBackend>>;
before(async () => {
  backend = await startBackend('cluster');
});
after(async () => {
  await backend?.stop();
});

/** One send as layout 1 stored it, all its steps done; `stale`: its last steps not. */
async function sendInLayoutOne(
  raw: RedisConnection,
  keys: Keys,
  message: { from: string; to: string; text: string; at: number; stale?: boolean },
): Promise<string> {
  const { from, to, text, at } = message;
  const id = randomUUID();
  const member = messageMember(id);
  const timestamp = (message.stale ? at - 1 : at).toFixed(6);
  await raw.hSet(keys.layoutOneMessage(id), {
    ...{ message_id: id, sender_id: from, receiver_id: to, message: text },
    ...{ timestamp, seen: 'False' },
  });
  await raw.zAdd(keys.inbox(to), { score: at, value: member });
  await raw.hIncrBy(keys.unread(to), from, 1);
  await raw.zAdd(keys.unseen(to, from), { score: at, value: member });
  await raw.zAdd(keys.conversations(to), { score: at, value: from }, { comparison: 'GT' });
  if (message.stale) return id; // cut short after delivery: the steps after it not run
  await raw.zAdd(keys.layoutOneConversation(from, to), { score: at, value: member });
  await raw.zAdd(keys.conversations(from), { score: at, value: to }, { comparison: 'GT' });
  return id;
}

/** Users made by this version, then the cluster turned back into layout 1's: no marker. */
async function layoutOneCluster() {
  const namespace = `migrate-${randomUUID()}`;
  const keys = new Keys(namespace, 'cluster');
  const m = await RedisMessenger.connect({ ...backend.target, namespace });
  const [a, b, c] = [await m.createUser('a'), await m.createUser('b'), await m.createUser('c')];
  await m.close();
  const raw = backend.raw;
  await raw.del(keys.clusterLayout);
  const start = Math.floor(Date.now() / 1000) - 100;
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) {
    const [from, to] = i % 3 === 0 ? [b, a] : i % 3 === 1 ? [a, b] : [c, b];
    ids.push(await sendInLayoutOne(raw, keys, { from, to, text: `message ${i}`, at: start + i }));
  }
  const stale = await sendInLayoutOne(raw, keys, {
    ...{ from: a, to: b, text: 'cut short' },
    ...{ at: start + 40, stale: true },
  });
  return { namespace, keys, a, b, c, ids, stale };
}

const options = (namespace: string) => ({ ...backend.target, namespace });

/** What a person sees of the data: inboxes, both sides of each conversation, counters. */
async function everythingSeen(m: RedisMessenger, users: { a: string; b: string; c: string }) {
  const { a, b, c } = users;
  const texts = (page: { messages: { text: string }[] }) => page.messages.map((x) => x.text);
  return {
    inboxA: texts(await m.listUserMessages(a, { limit: 100 })),
    inboxB: texts(await m.listUserMessages(b, { limit: 100 })),
    ab: texts(await m.listConversation(a, b, { limit: 100 })),
    ba: texts(await m.listConversation(b, a, { limit: 100 })),
    cb: texts(await m.listConversation(c, b, { limit: 100 })),
    unreadB: await m.unreadCount(b),
    unreadListB: (await m.listUnreadMessages(b, { limit: 100 })).length,
    conversationsB: (await m.listConversations(b)).map((x) => x.with.id),
  };
}

describe('a cluster in layout 1', () => {
  it('is refused by connect, saying what to run', async () => {
    const { namespace } = await layoutOneCluster();
    const error = await RedisMessenger.connect(options(namespace)).catch((e: unknown) => e);
    assert.ok(error instanceof ClusterLayoutError, String(error));
    assert.match(error.message, /cluster layout 1.*messenger migrate/);
  });

  it('after messenger migrate reads as before, in layout 2, with the old keys gone; a second run does nothing', async () => {
    const { namespace, keys, a, b, c, ids, stale } = await layoutOneCluster();
    const captured = capture();
    const cluster = 'cluster' in backend.target ? backend.target.cluster.join(',') : '';
    const code = await main(
      ['migrate', '--cluster', cluster, '--namespace', namespace],
      captured.output,
    );
    assert.equal(code, 0, captured.stderr());
    assert.match(captured.stdout(), /Moved 31 messages of 3 users and 4 conversation copies/);

    const m = await RedisMessenger.connect(options(namespace));
    try {
      const seen = await everythingSeen(m, { a, b, c });
      const sent = (from: string, to: string) =>
        ids.flatMap((_, i) => {
          const pair = i % 3 === 0 ? [b, a] : i % 3 === 1 ? [a, b] : [c, b];
          return pair[0] === from && pair[1] === to ? [`message ${i}`] : [];
        });
      assert.deepEqual(seen.inboxA, sent(b, a));
      assert.deepEqual(
        seen.inboxB,
        [...ids.keys()]
          .filter((i) => i % 3 !== 0)
          .map((i) => `message ${i}`)
          .concat('cut short'),
      );
      // The send cut short is finished too: in both copies, as its retry would have.
      const ab = [...ids.keys()]
        .filter((i) => i % 3 !== 2)
        .map((i) => `message ${i}`)
        .concat('cut short');
      assert.deepEqual(seen.ab, ab);
      assert.deepEqual(seen.ba, ab);
      assert.deepEqual(seen.cb, sent(c, b));
      assert.deepEqual(seen.unreadB, { total: 21, bySender: { [a]: 11, [c]: 10 } });
      assert.equal(seen.unreadListB, 21);
      // The send cut short keeps its inbox score as its time (layout 1's last step).
      const cut = (await m.listUserMessages(b, { limit: 1 })).messages[0];
      assert.equal(cut?.id, stale);
      const score = await backend.raw.zScore(keys.inbox(b), keys.messageMember(stale, b));
      assert.equal(cut?.sentAt.getTime(), Math.floor((score ?? 0) * 1000));
      // Layout 1's keys are gone; layout 2's are there.
      const left = await backend.keys(`${namespace}:*`);
      assert.deepEqual(
        left.filter((key) => /:message:\{[^}]+\}$|:conversation:\{[^}]+\}$/.test(key)),
        [],
      );
      assert.equal(await backend.raw.exists(keys.message(ids[0] as string, a)), 1);
      assert.equal(await backend.raw.get(keys.clusterLayout), '2');
      // It goes on working: a mark, a send, paging a copy by a cursor from the other's side.
      assert.equal(await m.markConversationSeen(b, c), 10);
      const reply = await m.sendMessage(b, a, 'after the move');
      const page = await m.listConversation(a, b, { after: ids[1] as string, limit: 100 });
      assert.equal(page.messages.at(-1)?.id, reply);
    } finally {
      await m.close();
    }
    const again = capture();
    const json = ['migrate', '--json', '--cluster', cluster, '--namespace', namespace];
    assert.equal(await main(json, again.output), 0, again.stderr());
    assert.equal(JSON.parse(again.stdout()).alreadyDone, true);
  });

  it('a run cut short is refused by connect, and the next run finishes it', async () => {
    const { namespace, a, b, c } = await layoutOneCluster();
    const cut = new Error('cut short');
    await assert.rejects(
      RedisMessenger.migrateClusterLayout(options(namespace), {
        onProgress: ({ pass, done }) => {
          if (pass === 1 && done > 0) throw cut;
        },
      }),
      (error) => error === cut,
    );
    const refused = await RedisMessenger.connect(options(namespace)).catch((e: unknown) => e);
    assert.ok(refused instanceof ClusterLayoutError, String(refused));
    assert.match(refused.message, /has not finished: run it again/);
    const report = await RedisMessenger.migrateClusterLayout(options(namespace));
    assert.equal(report.alreadyDone, false);
    const m = await RedisMessenger.connect(options(namespace));
    try {
      const seen = await everythingSeen(m, { a, b, c });
      assert.equal(seen.inboxB.length, 21);
      assert.equal(seen.ab.length, 21); // the send cut short finished too
      assert.deepEqual(seen.unreadB.total, 21);
    } finally {
      await m.close();
    }
  });

  it('one Redis has nothing to migrate: a usage error', async () => {
    const captured = capture();
    const code = await main(['migrate', '--redis', 'redis://127.0.0.1:1'], captured.output);
    assert.equal(code, 2);
    assert.match(captured.stderr(), /give --cluster <nodes>/);
  });
});
