import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import {
  CursorNotFoundError,
  RedisMessenger,
  UsernameTakenError,
  ValidationError,
} from '../src/index.js';
import { onEachBackend } from './support/backends.js';

let messenger: RedisMessenger;

onEachBackend((backend, kind) => {
  before(async () => {
    messenger = await backend().messenger();
  });
  after(async () => {
    await messenger?.close();
  });

  describe('createUser', () => {
    it('returns a UUID and stores the user', async () => {
      const id = await messenger.createUser('Alice');
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const user = await messenger.getUser(id);
      assert.equal(user?.username, 'Alice');
      assert.equal(user?.id, id);
      assert.ok(user && Math.abs(user.createdAt.getTime() - Date.now()) < 60_000);
    });

    it('refuses a name that differs only in case or Unicode form', async () => {
      await messenger.createUser('Straße');
      await assert.rejects(messenger.createUser('Straße'), UsernameTakenError);
      await assert.rejects(messenger.createUser('STRASSE'), UsernameTakenError);
      await assert.rejects(messenger.createUser('straße'), UsernameTakenError);
      await assert.rejects(messenger.createUser('STRAẞE'), UsernameTakenError); // capital sharp s
      await messenger.createUser('ﬁsh'); // the ligature, NFKC-equal to "fish"
      await assert.rejects(messenger.createUser('FISH'), UsernameTakenError);
    });

    it('addUser returns the user exactly as getUser reads it back', async () => {
      const added = await messenger.addUser('Added Élise');
      assert.deepEqual(await messenger.getUser(added.id), added);
      await assert.rejects(messenger.addUser('added élise'), UsernameTakenError);
    });

    it('keeps the name as typed', async () => {
      const id = await messenger.createUser('MiXeD Case');
      assert.equal((await messenger.getUser(id))?.username, 'MiXeD Case');
    });

    it('refuses bad names with a ValidationError', async () => {
      const bad: unknown[] = [
        '',
        ' leading',
        'trailing ',
        'a'.repeat(33),
        'tab\there',
        'new\nline',
        'nul\u0000',
        'bidi\u202Eoverride',
        'zero\u200Bwidth',
        '\uD800lone',
        42,
        null,
      ];
      for (const name of bad) {
        await assert.rejects(
          messenger.createUser(name as string),
          ValidationError,
          `accepted ${JSON.stringify(name)}`,
        );
      }
    });

    it('accepts 32 characters counted as code points (emoji count once)', async () => {
      const name = '😀'.repeat(32);
      const id = await messenger.createUser(name);
      assert.equal((await messenger.getUser(id))?.username, name);
    });

    it('gives one winner among 200 concurrent claims over several connections', async () => {
      const namespace = `race-${Date.now()}`;
      const clients = await Promise.all(
        Array.from({ length: 4 }, () => RedisMessenger.connect({ ...backend().target, namespace })),
      );
      try {
        const variants = ['Racer', 'racer', 'RACER', 'ＲＡＣＥＲ']; // full-width form folds to "racer"
        const results = await Promise.allSettled(
          Array.from({ length: 200 }, (_, i) =>
            (clients[i % clients.length] as RedisMessenger).createUser(
              variants[i % variants.length] as string,
            ),
          ),
        );
        const winners = results.filter((r) => r.status === 'fulfilled');
        const losers = results.filter((r) => r.status === 'rejected');
        assert.equal(winners.length, 1);
        assert.equal(losers.length, 199);
        for (const loser of losers)
          assert.ok((loser as PromiseRejectedResult).reason instanceof UsernameTakenError);
        const { users } = await (clients[0] as RedisMessenger).listAllUsers();
        assert.equal(users.length, 1);
      } finally {
        await Promise.all(clients.map((c) => c.close()));
      }
    });
  });

  describe('getUser and findUserByUsername', () => {
    it('find by name ignoring case; null when missing', async () => {
      const id = await messenger.createUser('Findable');
      assert.equal((await messenger.findUserByUsername('findable'))?.id, id);
      assert.equal((await messenger.findUserByUsername('FINDABLE'))?.id, id);
      assert.equal(await messenger.findUserByUsername('nobody-here'), null);
      assert.equal(await messenger.getUser('00000000-0000-4000-8000-000000000000'), null);
    });

    it('refuses a malformed id', async () => {
      await assert.rejects(messenger.getUser('user:*'), ValidationError);
      await assert.rejects(messenger.getUser('../etc'), ValidationError);
    });
  });

  describe('listAllUsers', () => {
    it('pages through every user in creation order, no gap, no repeat', async () => {
      const m = await backend().messenger();
      try {
        const created: string[] = [];
        for (let i = 0; i < 23; i++) created.push(await m.createUser(`pager${i}`));
        const seen: string[] = [];
        let after: string | undefined;
        let pages = 0;
        for (;;) {
          const page = await m.listAllUsers({ limit: 5, after });
          seen.push(...page.users.map((u) => u.id));
          pages++;
          if (!page.hasMore) break;
          after = page.users.at(-1)?.id;
        }
        assert.deepEqual(seen, created);
        assert.equal(pages, 5);
      } finally {
        await m.close();
      }
    });

    it('refuses a cursor that is not a user of the list', async () => {
      await assert.rejects(
        messenger.listAllUsers({ after: '00000000-0000-4000-8000-000000000000' }),
        CursorNotFoundError,
      );
      await assert.rejects(messenger.listAllUsers({ limit: 0 }), ValidationError);
      await assert.rejects(messenger.listAllUsers({ limit: 1001 }), ValidationError);
      await assert.rejects(messenger.listAllUsers({ limit: 2.5 }), ValidationError);
    });

    it('reads the same few commands however many other keys there are (no SCAN)', {
      skip:
        kind === 'cluster' && 'MONITOR watches one server; the listing code is the same on both',
    }, async () => {
      const m = await backend().messenger();
      const target = backend().target;
      const url = 'url' in target ? target.url : '';
      const raw = createClient({ url });
      await raw.connect();
      const monitor = createClient({ url });
      await monitor.connect();
      const lines: string[] = [];
      const sentByClient = async () => {
        lines.length = 0;
        await m.listAllUsers();
        await new Promise((r) => setTimeout(r, 100));
        // Commands a client sent, not those a script ran (MONITOR tags those "lua"), nor
        // the connection watch's PING of each second (src/redis/liveness.ts).
        return lines
          .filter((l) => !/\[\d+ lua\]/.test(l))
          .map((l) => /"(\w+)"/.exec(l)?.[1]?.toLowerCase())
          .filter((command) => command !== 'ping');
      };
      try {
        await m.createUser('indexed');
        await monitor.monitor((line) => lines.push(line));
        const before = await sentByClient();
        for (let i = 0; i < 20; i++) await raw.set(`unrelated:${randomUUID()}`, 'x');
        await new Promise((r) => setTimeout(r, 100)); // let MONITOR report those first
        const after = await sentByClient();
        // The page script, the two counters, and the one user hash it names (HMGET).
        assert.deepEqual(before.sort(), ['evalsha', 'get', 'hlen', 'hmget']);
        assert.deepEqual(after.sort(), before);
        assert.ok(
          !lines.some((l) => /"(scan|keys|hvals|hgetall)" "[^"]*usernames/i.test(l)),
          lines.join('\n'),
        );
      } finally {
        await monitor.close();
        await raw.close();
        await m.close();
      }
    });
  });

  describe('names made of key-like characters', () => {
    it('are values only: they create no key and touch no other key', async () => {
      const namespace = `keylike-${Date.now()}`;
      const m = await RedisMessenger.connect({ ...backend().target, namespace });
      try {
        const totalBefore = await backend().dbSize();
        const names = [
          '*',
          '?',
          '[a]',
          '{tag}',
          'user:*',
          'a\\b',
          'usernames',
          '::',
          'message:x',
          '} {',
        ];
        const ids = [];
        for (const name of names) ids.push(await m.createUser(name));
        const keys = (await backend().keys(`${namespace}:*`)).sort();
        // The seed's names on one Redis; with hash tags on a cluster (docs/schema.md).
        const expected = (
          kind === 'standalone'
            ? [
                `${namespace}:name_index`,
                `${namespace}:user_index`,
                `${namespace}:usernames`,
                `${namespace}:usernames_folded`,
                `${namespace}:usernames_indexed`,
                ...ids.map((id) => `${namespace}:user:${id}`),
              ]
            : [
                `${namespace}:{directory}:layout`, // the key layout, marked at connect
                `${namespace}:{directory}:name_index`,
                `${namespace}:{directory}:user_index`,
                `${namespace}:{directory}:usernames`,
                `${namespace}:{directory}:usernames_folded`,
                `${namespace}:{directory}:usernames_indexed`,
                ...ids.map((id) => `${namespace}:user:{${id}}`),
              ]
        ).sort();
        assert.deepEqual(keys, expected);
        // And nothing was written outside the namespace (the marker was, before totalBefore).
        const written = expected.length - (kind === 'cluster' ? 1 : 0);
        assert.equal(await backend().dbSize(), totalBefore + written);
        for (const [i, name] of names.entries())
          assert.equal((await m.findUserByUsername(name))?.id, ids[i]);
      } finally {
        await m.close();
      }
    });
  });
});
