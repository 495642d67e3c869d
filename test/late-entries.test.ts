/**
 * The bookkeeping that finds inbox entries stored behind a subscription's cursor
 * (src/core/late-entries.ts), without Redis: what it counts in its window, what it calls
 * unknown, and that a partial read of the window forgets nothing it did not read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LATE_MEMORY, LATE_WINDOW_S, LateEntries } from '../src/core/late-entries.js';

const member = (i: number) => `message:${i}`;

describe('LateEntries', () => {
  it('counts what it delivered behind the cursor, and names only entries it did not', () => {
    const late = new LateEntries(100);
    for (let i = 1; i <= 5; i++) late.delivered(member(i), 100 + i, 100 + i);
    const window = late.window(105);
    assert.ok(window);
    assert.equal(window.min, '(100');
    assert.equal(window.max, '(105');
    // 101 to 104 lie inside; 105 is the cursor itself (the bounds are exclusive).
    assert.equal(late.count(window), 4);
    const inbox = [1, 2, 3, 4].map((i) => ({ value: member(i), score: 100 + i }));
    inbox.splice(2, 0, { value: 'message:late', score: 102.5 });
    assert.deepEqual(late.unknown(window, inbox, true), [{ value: 'message:late', score: 102.5 }]);
  });

  it('has no window before anything scored above where it started', () => {
    const late = new LateEntries(100);
    assert.equal(late.window(100), null);
    assert.ok(new LateEntries(null).window(1));
  });

  it(`keeps ${LATE_WINDOW_S} s of score behind the cursor, and at most ${LATE_MEMORY} entries`, () => {
    const late = new LateEntries(0);
    late.delivered(member(1), 1, 1);
    late.delivered(member(2), 1 + LATE_WINDOW_S + 1, 1 + LATE_WINDOW_S + 1);
    const window = late.window(100);
    assert.ok(window);
    assert.ok(window.low >= 2, 'the window moved up with the cursor');
    assert.equal(late.count(window), 1);

    const many = new LateEntries(0);
    for (let i = 1; i <= LATE_MEMORY + 500; i++)
      many.delivered(member(i), 1 + i / 1e6, 1 + i / 1e6);
    const wide = many.window(2);
    assert.ok(wide);
    assert.ok(many.count(wide) <= LATE_MEMORY, `${many.count(wide)} remembered`);
  });

  it('forgets entries the inbox no longer holds, but only as far as it read', () => {
    const late = new LateEntries(0);
    for (let i = 1; i <= 10; i++) late.delivered(member(i), i, i);
    const window = late.window(11);
    assert.ok(window);
    const inbox = Array.from({ length: 10 }, (_, i) => ({ value: member(i + 1), score: i + 1 }));
    // A read cut short after 4 entries (its LIMIT): 5 to 10 were not seen, not deleted.
    assert.deepEqual(late.unknown(window, inbox.slice(0, 4), false), []);
    assert.equal(late.count(window), 10);
    assert.deepEqual(late.unknown(window, inbox, true), []);
    // Entry 3 was removed from the inbox: forgotten, so the counts agree again.
    const without3 = inbox.filter((entry) => entry.value !== member(3));
    assert.deepEqual(late.unknown(window, without3, true), []);
    assert.equal(late.count(window), 9);
  });
});
