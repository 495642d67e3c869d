/**
 * searchUsers: the user directory by the start of a name, on one Redis and on a cluster:
 * case-insensitive prefixes in name order, the limit, refusals; users whose name index
 * entries are missing (stored before it existed) found after it catches up by itself; and
 * bounded: among 20,000 users a search is one script and one read of what it found.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Keys } from '../src/core/keys.js';
import { RedisMessenger, ValidationError } from '../src/index.js';
import { onEachBackend } from './support/backends.js';

/** Creates `names` with at most `parallel` creations under way. */
async function createAll(m: RedisMessenger, names: string[], parallel = 50): Promise<string[]> {
  const ids: string[] = new Array(names.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let i = next++; i < names.length; i = next++) {
        ids[i] = await m.createUser(names[i] as string);
      }
    }),
  );
  return ids;
}

onEachBackend((backend, kind) => {
  /** A messenger on a namespace of its own, and that namespace's keys. */
  async function fresh(): Promise<{ m: RedisMessenger; keys: Keys }> {
    const namespace = `search-${randomUUID()}`;
    const m = await RedisMessenger.connect({ ...backend().target, namespace });
    return { m, keys: new Keys(namespace, kind) };
  }

  /** Calls of each command on every master so far, but INFO (this) and PING (keep-alives). */
  async function commandCalls(): Promise<Map<string, number>> {
    const calls = new Map<string, number>();
    const infos = await backend().eachMaster((node) => node.info('commandstats'));
    for (const info of infos) {
      for (const [, name = '', count] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        if (name !== 'info' && name !== 'ping')
          calls.set(name, (calls.get(name) ?? 0) + Number(count));
      }
    }
    return calls;
  }

  /** What ran between two commandCalls. */
  function callsBetween(before: Map<string, number>, after: Map<string, number>) {
    const ran: Record<string, number> = {};
    for (const [name, count] of after) {
      const more = count - (before.get(name) ?? 0);
      if (more > 0) ran[name] = more;
    }
    return ran;
  }

  describe('searchUsers', () => {
    it('finds names by a case-insensitive prefix, ordered by name, within the limit', async () => {
      const { m } = await fresh();
      try {
        const names = ['alice', 'Albert', 'ALINA', 'Bob', 'al', 'Straße', 'Ärger', 'alpha beta'];
        const ids = await createAll(m, names);
        const idOf = (name: string) => ids[names.indexOf(name)];
        const found = await m.searchUsers('AL');
        assert.deepEqual(
          found.users.map((u) => u.username),
          ['al', 'Albert', 'alice', 'ALINA', 'alpha beta'],
        );
        assert.equal(found.hasMore, false);
        assert.equal(found.users[1]?.id, idOf('Albert'));
        assert.ok(found.users.every((u) => u.createdAt.getTime() > 0));

        const limited = await m.searchUsers('al', { limit: 2 });
        assert.deepEqual(
          limited.users.map((u) => u.username),
          ['al', 'Albert'],
        );
        assert.equal(limited.hasMore, true);
        assert.equal((await m.searchUsers('al', { limit: 5 })).hasMore, false);

        // The folding of names: "STRAS" finds "Straße"; a space inside the prefix.
        assert.deepEqual(
          (await m.searchUsers('STRAS')).users.map((u) => u.username),
          ['Straße'],
        );
        assert.deepEqual(
          (await m.searchUsers('ärg')).users.map((u) => u.username),
          ['Ärger'],
        );
        assert.deepEqual(
          (await m.searchUsers('Alpha ')).users.map((u) => u.username),
          ['alpha beta'],
        );
        assert.deepEqual(
          (await m.searchUsers('alice')).users.map((u) => u.username),
          ['alice'],
        );
        assert.deepEqual(await m.searchUsers('zz'), { users: [], hasMore: false });
        assert.deepEqual(await m.searchUsers('alicex'), { users: [], hasMore: false });
      } finally {
        await m.close();
      }
    });

    it('refuses an empty or bad prefix and a limit out of 1-100', async () => {
      const { m } = await fresh();
      try {
        for (const bad of ['', ' a', 'a\u0000', 'a'.repeat(33), 'tab\there', 42, '\ud800']) {
          await assert.rejects(m.searchUsers(bad as string), ValidationError, JSON.stringify(bad));
        }
        for (const limit of [0, 101, 1.5, '5']) {
          await assert.rejects(
            m.searchUsers('a', { limit: limit as number }),
            ValidationError,
            String(limit),
          );
        }
        assert.deepEqual(await m.searchUsers('a', { limit: 100 }), { users: [], hasMore: false });
      } finally {
        await m.close();
      }
    });

    it('finds users stored before the name index existed: it catches up by itself', async () => {
      const { m, keys } = await fresh();
      try {
        const names = Array.from({ length: 1200 }, (_, i) => `old${String(i).padStart(4, '0')}`);
        await createAll(m, names);
        // As a version before the name index left the directory: no entry at all.
        await backend().raw.del(keys.nameIndex);
        const found = await m.searchUsers('OLD01', { limit: 100 });
        assert.deepEqual(
          found.users.map((u) => u.username),
          names.filter((name) => name.startsWith('old01')),
        );
        assert.equal(found.hasMore, false);
        assert.equal(await backend().raw.zCard(keys.nameIndex), names.length);
        // A new user after that is found as well, and nobody twice.
        await m.createUser('Old9999');
        assert.deepEqual(
          (await m.searchUsers('old9')).users.map((u) => u.username),
          ['Old9999'],
        );
        assert.equal(await backend().raw.zCard(keys.nameIndex), names.length + 1);
      } finally {
        await m.close();
      }
    });

    it('among 20,000 users, a search is one script and one read of the users it found', {
      timeout: 120_000,
    }, async () => {
      const { m, keys } = await fresh();
      try {
        const names = Array.from({ length: 20_000 }, (_, i) => `user${i}`);
        const started = Date.now();
        await createAll(m, names, 100);
        const createdMs = Date.now() - started;
        await m.searchUsers('user1'); // scripts loaded, connections warm
        const before = await commandCalls();
        const timed = performance.now();
        const found = await m.searchUsers('USER19', { limit: 20 });
        const searchMs = performance.now() - timed;
        const ran = callsBetween(before, await commandCalls());
        assert.equal(found.users.length, 20);
        assert.equal(found.hasMore, true);
        assert.deepEqual(
          found.users.map((u) => u.username),
          names
            .filter((name) => name.startsWith('user19'))
            .sort()
            .slice(0, 20),
        );
        // The script (its HLEN, ZCARD and one ZRANGEBYLEX counted too), then one HMGET per
        // user found: nothing that walks the directory.
        assert.deepEqual(ran, { evalsha: 1, hlen: 1, zcard: 1, zrangebylex: 1, hmget: 20 });
        // Without the index (as stored before it existed): the first search catches up, in
        // batches; the next is one script again.
        await backend().raw.del(keys.nameIndex);
        const catchingUp = performance.now();
        assert.equal((await m.searchUsers('user19', { limit: 20 })).users.length, 20);
        const catchUpMs = performance.now() - catchingUp;
        assert.equal(await backend().raw.zCard(keys.nameIndex), names.length);
        const again = await commandCalls();
        await m.searchUsers('user2', { limit: 20 });
        assert.deepEqual(callsBetween(again, await commandCalls()), {
          evalsha: 1,
          hlen: 1,
          zcard: 1,
          zrangebylex: 1,
          hmget: 20,
        });
        console.log(
          `${kind}: 20,000 users created in ${createdMs} ms; a search of 20 took ${searchMs.toFixed(1)} ms: ${JSON.stringify(ran)}; the first search without the name index caught up in ${catchUpMs.toFixed(0)} ms`,
        );
      } finally {
        await m.close();
      }
    });
  });
});
