/**
 * Catching up: a subscription that starts (or resumes) behind reads everything after its
 * cursor, however many pages that is, before it goes on live. The catch-up reads 200
 * messages a page, so these tests keep more than two pages waiting.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Message } from '../src/index.js';
import { onEachBackend } from './support/backends.js';
import { eventually } from './support/wait.js';

const WAITING = 450;

onEachBackend((backend) => {
  it(`a subscription resumed with ${WAITING} messages waiting gets every one, in order, once; then live ones`, async () => {
    const m = await backend().messenger();
    try {
      const [alice, bob] = [await m.createUser('alice'), await m.createUser('bob')];
      const cursor = await m.sendMessage(alice, bob, 'seen before the subscription');
      const waiting: string[] = [];
      for (let i = 0; i < WAITING; i++)
        waiting.push(await m.sendMessage(alice, bob, `waiting ${i}`));
      const delivered: Message[] = [];
      const subscription = await m.subscribe(
        bob,
        (message) => {
          delivered.push(message);
        },
        { after: cursor },
      );
      try {
        await eventually(() => delivered.length >= WAITING, 20_000, `${WAITING} deliveries`);
        const live = await m.sendMessage(alice, bob, 'live after the catch-up');
        await eventually(
          () => delivered.some((message) => message.id === live),
          10_000,
          'the live message',
        );
        assert.deepEqual(
          delivered.map((message) => message.id),
          [...waiting, live],
        );
        assert.equal(delivered[WAITING - 1]?.text, `waiting ${WAITING - 1}`);
        assert.equal(subscription.cursor, live);
      } finally {
        await subscription.close();
      }
    } finally {
      await m.close();
    }
  });
});
