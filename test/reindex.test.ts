import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createClient, type RedisClientType } from 'redis';
import { main } from '../src/cli/main.js';
import { recountUnreadInSteps } from '../src/core/backend/standalone-recount.js';
import { Keys } from '../src/core/keys.js';
import { RedisMessenger, UsernameTakenError } from '../src/index.js';
import type { RedisClient, RedisConnection } from '../src/redis/connect.js';
import { storeUncounted } from './support/big-inbox.js';
import { capture } from './support/capture.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { SeedProgram } from './support/seed-program.js';

let server: RedisServer;
let raw: RedisClientType;
let seed: SeedProgram;

before(async () => {
  server = await startRedisServer();
  raw = createClient({ url: server.url });
  await raw.connect();
  seed = new SeedProgram(raw);
});
beforeEach(async () => {
  await raw.flushAll(); // our own throwaway server
});
after(async () => {
  await raw?.close();
  await server?.stop();
});

/** Every key with its type and whole content, to compare two states of the database. */
async function snapshot(): Promise<Record<string, unknown>> {
  const state: Record<string, unknown> = {};
  for (const key of (await raw.keys('*')).sort()) {
    const type = await raw.type(key);
    if (type === 'hash') state[key] = await raw.hGetAll(key);
    else if (type === 'zset') state[key] = await raw.zRangeWithScores(key, 0, -1);
    else if (type === 'set') state[key] = (await raw.sMembers(key)).sort();
    else state[key] = await raw.get(key);
  }
  return state;
}

describe('reindex', () => {
  it('puts the original program’s messages into conversations, and a second run changes nothing', async () => {
    const a = await seed.createUser('Ann');
    const b = await seed.createUser('Ben');
    const legacy = [
      await seed.sendMessage(a, b, 'legacy a→b'),
      await seed.sendMessage(b, a, 'legacy b→a'),
    ];
    const messenger = await RedisMessenger.connect({ url: server.url });
    try {
      const fresh = await messenger.sendMessage(a, b, 'new a→b');
      assert.deepEqual(
        (await messenger.listConversation(a, b)).messages.map((m) => m.id),
        [fresh],
        'before reindex only the new message is in the conversation',
      );
      const progress: number[] = [];
      const report = await messenger.reindex({
        onProgress: ({ done, total }) => progress.push(done / total),
      });
      assert.equal(report.users, 2);
      assert.equal(report.messages, 3);
      assert.deepEqual(report.nameConflicts, []);
      assert.equal(progress.at(-1), 1);
      assert.deepEqual(
        (await messenger.listConversation(b, a)).messages.map((m) => m.id),
        [...legacy, fresh],
      );
      const [withBen] = await messenger.listConversations(a);
      assert.equal(withBen?.with.id, b);
      assert.equal(withBen?.lastMessage?.id, fresh);

      const before = await snapshot();
      const again = await messenger.reindex();
      assert.equal(again.namesFolded, 0);
      assert.deepEqual(await snapshot(), before);
    } finally {
      await messenger.close();
    }
  });

  it('reports legacy names that fold alike, and keeps both users', async () => {
    const upper = await seed.createUser('Cat');
    const lower = await seed.createUser('cat');
    const messenger = await RedisMessenger.connect({ url: server.url });
    try {
      const report = await messenger.reindex();
      assert.equal(report.nameConflicts.length, 1);
      assert.ok(['Cat', 'cat'].includes(report.nameConflicts[0] ?? ''));
      assert.equal((await messenger.getUser(upper))?.username, 'Cat');
      assert.equal((await messenger.getUser(lower))?.username, 'cat');
      await assert.rejects(messenger.createUser('CAT'), UsernameTakenError);
    } finally {
      await messenger.close();
    }
  });

  it('folds names the original adds later, before the next createUser', async () => {
    const messenger = await RedisMessenger.connect({ url: server.url });
    try {
      await messenger.createUser('first');
      const dora = await seed.createUser('Dora');
      // No reindex: the create script sees an unfolded name and has it folded first.
      await assert.rejects(messenger.createUser('DORA'), UsernameTakenError);
      const eve = await seed.createUser('Eve');
      assert.equal((await messenger.findUserByUsername('eve'))?.id, eve);
      assert.equal((await messenger.findUserByUsername('dora'))?.id, dora);
    } finally {
      await messenger.close();
    }
  });

  it('runs as `messenger reindex`, with a JSON report', async () => {
    await seed.createUser('Fay');
    const captured = capture();
    const code = await main(['reindex', '--json', '--redis', server.url], captured.output);
    assert.equal(code, 0, captured.stderr());
    assert.deepEqual(JSON.parse(captured.stdout()), {
      users: 1,
      messages: 0,
      namesFolded: 1,
      nameConflicts: [],
      skipped: 0,
    });
  });

  it('recounts exactly when a message no counter counted is marked seen during the walk', async () => {
    const messenger = await RedisMessenger.connect({ url: server.url });
    try {
      const [a, b] = [await messenger.createUser('a'), await messenger.createUser('b')];
      const keys = new Keys();
      // Unseen messages another program stored, counted nowhere: a's counter is 0, so a
      // mark of one lowers nothing (a counter never goes below 0), and the recount's
      // check of the counters cannot see it.
      const ids = await storeUncounted(raw as unknown as RedisConnection, keys, { a, b }, 1200);
      let steps = 0;
      await recountUnreadInSteps(raw as unknown as RedisClient, keys, b, async (step) => {
        const result = await step();
        // After the walk's first step counted the oldest as unseen: it is marked seen.
        if (++steps === 1) assert.equal(await messenger.markSeen(b, [ids[0] as string]), 1);
        return result;
      });
      assert.deepEqual(await messenger.unreadCount(b), { total: 1199, bySender: { [a]: 1199 } });
    } finally {
      await messenger.close();
    }
  });

  it('recounts an inbox in steps, exactly, while messages are sent and marked seen', async () => {
    const messenger = await RedisMessenger.connect({ url: server.url });
    try {
      const [a, b] = [await messenger.createUser('a'), await messenger.createUser('b')];
      const keys = new Keys();
      // 5,000 unseen messages another program stored: in the inbox, counted nowhere.
      const ids = await storeUncounted(raw as unknown as RedisConnection, keys, { a, b }, 5000);
      // While the steps walk: sends (appended, counted by the send) and marks of messages
      // the walk may already have counted (each lowers a counter the walk replaces).
      const busy = (async () => {
        for (let i = 0; i < 10; i++) {
          await messenger.sendMessage(a, b, `during ${i}`);
          await messenger.markSeen(b, [ids[i * 400] as string]);
        }
      })();
      await recountUnreadInSteps(raw as unknown as RedisClient, keys, b, (step) => step());
      await busy;
      const flags = await Promise.all(
        (await raw.zRange(keys.inbox(b), 0, -1)).map((member) => raw.hGet(member, 'seen')),
      );
      const unseen = flags.filter((seen) => seen === 'False').length;
      assert.equal(unseen, 5000);
      assert.deepEqual(await messenger.unreadCount(b), {
        total: unseen,
        bySender: { [a]: unseen },
      });
    } finally {
      await messenger.close();
    }
  });
});
