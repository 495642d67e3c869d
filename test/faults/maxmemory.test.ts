/**
 * Fault 5: Redis reaches `maxmemory` with the `noeviction` policy while messages are
 * sent → sends fail with a clear error (RedisCommandError mentioning OOM / memory),
 * nothing already stored is lost (every acknowledged message still reads back, counts
 * match), and no message is half written (inbox entries == message hashes == acks).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { type Message, RedisCommandError, type RedisMessenger } from '../../src/index.js';
import { bump, errorName, inspectNamespace, messengerIn, report } from './support/faults.js';
import { redisForThisFile } from './support/server.js';

const TEXT = 'x'.repeat(1000);
const IN_FLIGHT = 8;
/** Sends tried after the first refusal: every one of them must be refused too. */
const AFTER_FULL = 200;

const redis = redisForThisFile(['--maxmemory', '2mb', '--maxmemory-policy', 'noeviction']);

it('maxmemory with noeviction: sends fail loudly, nothing stored is lost or half written', async (t) => {
  const started = Date.now();
  const namespace = `oom-${randomUUID()}`;
  const m: RedisMessenger = await messengerIn(redis.url, namespace);
  try {
    const [a, b] = [await m.createUser('a'), await m.createUser('b')];
    const acked = new Map<string, string>();
    const refusals: Record<string, number> = {};
    const firstRefusal: string[] = [];
    let refusedAfterFull = 0;
    let acceptedAfterFull = 0;
    let n = 0;
    const cap = 20_000;
    // Send until Redis refuses, then keep trying a while: every later send must be refused.
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (n < cap && refusedAfterFull + acceptedAfterFull < AFTER_FULL) {
          const i = n++;
          const text = `${i} ${TEXT}`;
          const full = firstRefusal.length > 0;
          try {
            const id = await m.sendMessage(a, b, text);
            acked.set(id, text);
            if (full) acceptedAfterFull++;
          } catch (error) {
            bump(refusals, `${errorName(error)}: ${(error as Error)?.message}`);
            if (firstRefusal.length === 0)
              firstRefusal.push(`${errorName(error)}: ${(error as Error)?.message}`);
            if (full) refusedAfterFull++;
          }
        }
      }),
    );
    // Clearly over the limit now (it is lowered below what Redis holds): one send at a
    // time, every one is refused with the clear error, and none is stored.
    const used = Number(/used_memory:(\d+)/.exec(await redis.raw.info('memory'))?.[1]);
    await redis.raw.configSet('maxmemory', String(used - 256 * 1024));
    const afterFullOneByOne = { refused: 0, accepted: 0 };
    for (let i = 0; i < 50; i++) {
      const text = `one by one ${i} ${TEXT}`;
      try {
        acked.set(await m.sendMessage(a, b, text), text);
        afterFullOneByOne.accepted++;
      } catch (error) {
        if (error instanceof RedisCommandError && /out of memory/.test(error.message)) {
          afterFullOneByOne.refused++;
        } else throw error;
      }
    }
    // Other writes while full: refused or done whole, never half (checked below).
    const otherWrites: Record<string, number> = {};
    const someIds = [...acked.keys()].slice(0, 50);
    for (const [name, write] of [
      ['createUser', () => m.createUser('c')],
      ['markSeen', () => m.markSeen(b, someIds)],
      ['markConversationSeen', () => m.markConversationSeen(b, a)],
      ['addContact', () => m.addContact(a, b)],
    ] as const) {
      await (write as () => Promise<unknown>)().then(
        () => bump(otherWrites, `${name} ok`),
        (error: unknown) => bump(otherWrites, `${name} ${errorName(error)}`),
      );
    }
    const [usernames, folded, userIndex, userKeys] = await Promise.all([
      redis.raw.hLen(`${namespace}:usernames`),
      redis.raw.hLen(`${namespace}:usernames_folded`),
      redis.raw.zCard(`${namespace}:user_index`),
      redis.raw.keys(`${namespace}:user:*`),
    ]);
    const usersConsistent =
      usernames === folded && folded === userIndex && userIndex === userKeys.length;
    const info = await redis.raw.info('memory');
    const usedMemory = /used_memory_human:(\S+)/.exec(info)?.[1];

    // Every acknowledged message reads back, by paging the whole inbox (reads still work).
    const read: Message[] = [];
    let page = await m.listUserMessages(b, { limit: 200 });
    read.unshift(...page.messages);
    while (page.hasOlder) {
      const before = page.messages[0]?.id as string;
      page = await m.listUserMessages(b, { limit: 200, before });
      read.unshift(...page.messages);
    }
    const readTexts = new Map(read.map((message) => [message.id, message.text]));
    const lost = [...acked].filter(([id, text]) => readTexts.get(id) !== text).length;
    const unread = await m.unreadCount(b);
    const state = await inspectNamespace(redis.raw, `${namespace}:`);
    const clear = Object.keys(refusals).every(
      (key) => key.startsWith('RedisCommandError') && /OOM|memory/i.test(key),
    );
    const refusedTotal = Object.values(refusals).reduce((x, y) => x + y, 0);

    // Once memory is freed for it, sending works again.
    await redis.raw.configSet('maxmemory', '0');
    const again = await m.sendMessage(a, b, 'after raising maxmemory').then(
      () => 'ok',
      (error: unknown) => errorName(error),
    );

    report(
      t,
      `maxmemory 2mb noeviction: acked ${acked.size}, refused ${refusedTotal} (after the first refusal: refused ${refusedAfterFull}, accepted ${acceptedAfterFull}; then one by one ${JSON.stringify(afterFullOneByOne)}), first refusal "${firstRefusal[0]}", all refusals clear ${clear}, used_memory ${usedMemory}, lost ${lost}, read back ${read.length}, inbox ${state.inboxes.get(b)?.length ?? 0}, conversation ${state.conversationEntries}, message hashes ${state.messages.size}, unread ${unread.total}, dangling ${state.dangling.length}, orphans ${state.orphans.length}, incomplete ${state.incomplete.length}, other writes while full ${JSON.stringify(otherWrites)}, user indexes consistent ${usersConsistent} (${usernames}/${folded}/${userIndex}/${userKeys.length}), send after raising maxmemory ${again}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    assert.ok(firstRefusal.length > 0, `Redis never refused a send (${acked.size} acked)`);
    // Once full, it stays full. With 8 sends in flight memory hovers at the limit (client
    // buffers count too), so a few can slip in; most are refused. Clearly over the limit,
    // every send is.
    assert.ok(
      refusedAfterFull >= 3 * acceptedAfterFull,
      `after the first refusal ${refusedAfterFull} sends were refused, ${acceptedAfterFull} accepted`,
    );
    assert.deepEqual(afterFullOneByOne, { refused: 50, accepted: 0 });
    assert.ok(clear, `unclear refusals: ${JSON.stringify(refusals)}`);
    assert.ok(acked.size > 0);
    assert.equal(lost, 0, 'acknowledged messages lost');
    assert.equal(read.length, acked.size);
    assert.equal(state.inboxes.get(b)?.length, acked.size);
    assert.equal(state.conversationEntries, acked.size);
    assert.equal(state.messages.size, acked.size, 'message hashes == acknowledged sends');
    assert.equal(unread.total, state.unreadTotal);
    assert.ok(usersConsistent, 'user indexes disagree');
    assert.deepEqual(state.dangling, []);
    assert.deepEqual(state.orphans, []);
    assert.deepEqual(state.incomplete, []);
    assert.deepEqual(state.unreadMismatches, []);
    assert.equal(again, 'ok');
  } finally {
    await m.close();
  }
});
