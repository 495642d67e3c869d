/**
 * Fault 1: many clients race for one username, in case and Unicode variants of it.
 * 100 rounds, each a fresh namespace on 4 connections (4 messengers), 200 concurrent
 * `createUser` calls → exactly one winner every round, every other call refused with
 * UsernameTakenError, and the name indexes hold exactly one entry.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { type RedisMessenger, UsernameTakenError } from '../../src/index.js';
import { bump, errorName, messengerIn, report } from './support/faults.js';
import { redisForThisFile } from './support/server.js';

const ROUNDS = 100;
const CALLS = 200;
const CONNECTIONS = 4;

const redis = redisForThisFile();

/** ASCII letters and digits as their full-width forms (NFKC folds them back). */
function fullWidth(text: string): string {
  return text.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
}

/** Spellings that all fold to one name: case, full width, ß/SS, the ﬁ ligature. */
function variants(round: number): string[] {
  switch (round % 3) {
    case 0: {
      const base = `name${round}`;
      return [base, `Name${round}`, `NAME${round}`, `nAmE${round}`, fullWidth(`NAME${round}`)];
    }
    case 1: {
      const base = `straße${round}`;
      return [
        base,
        `STRASSE${round}`,
        `Strasse${round}`,
        `Straße${round}`,
        fullWidth(`strasse${round}`),
      ];
    }
    default: {
      const base = `fiona${round}`;
      return [base, `ﬁona${round}`, `FIONA${round}`, `Fiona${round}`, fullWidth(`Fiona${round}`)];
    }
  }
}

it(`${ROUNDS} rounds of ${CALLS} concurrent createUser over ${CONNECTIONS} connections: one winner each`, async (t) => {
  const started = Date.now();
  const winnersPerRound: number[] = [];
  const badIndexes: string[] = [];
  const unexpected: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    const namespace = `race-${round}-${randomUUID().slice(0, 8)}`;
    const messengers: RedisMessenger[] = await Promise.all(
      Array.from({ length: CONNECTIONS }, () => messengerIn(redis.url, namespace)),
    );
    try {
      const names = variants(round);
      const results = await Promise.allSettled(
        Array.from({ length: CALLS }, (_, i) => {
          const messenger = messengers[i % CONNECTIONS] as RedisMessenger;
          return messenger.createUser(names[i % names.length] as string);
        }),
      );
      const winners = results.filter((r) => r.status === 'fulfilled');
      winnersPerRound.push(winners.length);
      for (const result of results) {
        if (result.status === 'rejected' && !(result.reason instanceof UsernameTakenError)) {
          bump(unexpected, `${errorName(result.reason)}: ${String(result.reason?.message)}`);
        }
      }
      const prefix = `${namespace}:`;
      const [usernames, folded, index, nameIndex, userKeys] = await Promise.all([
        redis.raw.hGetAll(`${prefix}usernames`),
        redis.raw.hGetAll(`${prefix}usernames_folded`),
        redis.raw.zRange(`${prefix}user_index`, 0, -1),
        redis.raw.zRange(`${prefix}name_index`, 0, -1),
        redis.raw.keys(`${prefix}user:*`),
      ]);
      const winnerId = winners[0]?.status === 'fulfilled' ? winners[0].value : undefined;
      const ok =
        Object.keys(usernames).length === 1 &&
        Object.keys(folded).length === 1 &&
        index.length === 1 &&
        nameIndex.length === 1 &&
        nameIndex[0]?.endsWith(`\0${winnerId}`) === true &&
        userKeys.length === 1 &&
        Object.values(usernames)[0] === winnerId &&
        Object.values(folded)[0] === winnerId &&
        index[0] === winnerId;
      if (!ok) {
        badIndexes.push(
          `round ${round}: usernames ${JSON.stringify(usernames)}, folded ${JSON.stringify(folded)}, user_index ${index.length} name_index ${nameIndex.length} user keys ${userKeys.length}, winner ${winnerId}`,
        );
      }
    } finally {
      await Promise.all(messengers.map((m) => m.close()));
    }
  }
  const wrongRounds = winnersPerRound.filter((n) => n !== 1).length;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  report(
    t,
    `username race: ${ROUNDS} rounds × ${CALLS} calls, rounds without exactly one winner ${wrongRounds} (winners per round min ${Math.min(...winnersPerRound)}, max ${Math.max(...winnersPerRound)}), rounds with wrong indexes ${badIndexes.length}, unexpected errors ${Object.values(unexpected).reduce((a, b) => a + b, 0)}, ${seconds} s`,
  );
  assert.equal(wrongRounds, 0, `winners per round: ${winnersPerRound.join(',')}`);
  assert.deepEqual(badIndexes, []);
  assert.deepEqual(unexpected, {});
});

it('names that Unicode case folding makes equal are one name (capital sharp s)', async (t) => {
  // CaseFolding.txt folds both ß (U+00DF) and ẞ (U+1E9E) to "ss"; DESIGN.md promises
  // comparison "after NFKC normalisation and case folding".
  const m = await messengerIn(redis.url);
  try {
    await m.createUser('straße');
    const second = await m.createUser('STRAẞE').then(
      (id) => `created ${id}`,
      (error: unknown) => errorName(error),
    );
    report(t, `capital sharp s: createUser('straße') then createUser('STRAẞE') → ${second}`);
    assert.equal(second, 'UsernameTakenError');
  } finally {
    await m.close();
  }
});
