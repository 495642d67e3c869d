/**
 * A cluster send in 6 requests: its inbox entry takes the time its message hash was
 * stored with, and only when the inbox already holds a newer entry is it raised past it,
 * the hash's time then set to match (one more request), so that every reader sees one time.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Keys, messageMember } from '../src/core/keys.js';
import { scripts } from '../src/core/scripts.js';
import { RedisMessenger } from '../src/index.js';
import { startBackend } from './support/backends.js';

let backend: Awaited<ReturnType<typeof startBackend>>;

before(async () => {
  backend = await startBackend('cluster');
});
after(async () => {
  await backend?.stop();
});

/** The message's time in its hash and its score in the inbox, as stored. */
async function times(keys: Keys, receiver: string, id: string): Promise<[string, string]> {
  const stamped = (await backend.raw.hGet(keys.message(id), 'timestamp')) ?? '';
  const score = await backend.raw.zScore(keys.inbox(receiver), messageMember(id));
  return [stamped, (score ?? Number.NaN).toFixed(6)];
}

it("a send's inbox entry has its hash's time, and when raised past a newer entry the hash follows", async () => {
  const namespace = `cluster-sends-${randomUUID()}`;
  const m = await RedisMessenger.connect({ ...backend.target, namespace });
  const keys = new Keys(namespace, 'cluster');
  try {
    const [a, b] = [await m.createUser('a'), await m.createUser('b')];
    const first = await m.send(a, b, 'first');
    const [stamped, score] = await times(keys, b, first.message.id);
    assert.equal(stamped, score);

    // A send cut short after step 1 keeps its hash's time; a newer message then arrives.
    const early = randomUUID();
    await scripts.storeMessage.run(backend.raw, [keys.message(early)], [early, a, b, 'early']);
    const [storedAt] = await times(keys, b, early);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const newer = await m.send(a, b, 'newer');
    // Its retry cannot go before 'newer' (a reader may have passed it): it is raised.
    const retried = await m.send(a, b, 'early', { messageId: early });
    const [raisedStamp, raisedScore] = await times(keys, b, early);
    assert.ok(Number(raisedScore) > Number(storedAt), `${raisedScore} after ${storedAt}`);
    assert.ok(Number(raisedScore) > newer.message.sentAt.getTime() / 1000);
    assert.equal(raisedStamp, raisedScore);
    assert.equal(retried.message.sentAt.getTime(), Math.floor(Number(raisedScore) * 1000));
    const page = await m.listUserMessages(b);
    assert.deepEqual(
      page.messages.map((message) => [message.text, message.sentAt.getTime()]),
      [first, newer, retried].map(({ message }) => [message.text, message.sentAt.getTime()]),
    );
  } finally {
    await m.close();
  }
});
