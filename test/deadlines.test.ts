import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Deadlines } from '../src/redis/deadline.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const never = () => new Promise<never>(() => {});
const late = () => new Error('late');
/** The timers this process holds now (Deadlines' own among them while it runs one). */
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/** When `promise` settles, in ms from now, and how. */
async function settling<T>(promise: Promise<T>): Promise<{ ms: number; outcome: string }> {
  const start = performance.now();
  const outcome = await promise.then(
    (value) => `value ${String(value)}`,
    (error: Error) => `error ${error.message}`,
  );
  return { ms: performance.now() - start, outcome };
}

describe('deadlines: one timer for many operations of one length', () => {
  it('passes on a result or an error in time, and rejects what is late with late()', async () => {
    const deadlines = new Deadlines(100);
    const [ok, failed, hung] = await Promise.all([
      settling(
        deadlines.run(
          sleep(10).then(() => 'done'),
          late,
        ),
      ),
      settling(
        deadlines.run(
          sleep(10).then(() => Promise.reject(new Error('refused'))),
          late,
        ),
      ),
      settling(deadlines.run(never(), late)),
    ]);
    assert.equal(ok.outcome, 'value done');
    assert.equal(failed.outcome, 'error refused');
    assert.equal(hung.outcome, 'error late');
    assert.ok(hung.ms >= 95 && hung.ms < 400, `late after ${hung.ms} ms`);
  });

  it('each operation gets its whole length, counted from its own start', async () => {
    const deadlines = new Deadlines(150);
    const first = settling(deadlines.run(never(), late));
    // Kept pending in between: the timer is re-armed for the next due, not started afresh.
    const quick = settling(deadlines.run(sleep(20), late));
    await sleep(100);
    const second = settling(deadlines.run(never(), late));
    const [a, b] = await Promise.all([first, second]);
    assert.equal((await quick).outcome, 'value undefined');
    assert.ok(a.ms >= 145 && a.ms < 400, `the first was late after ${a.ms} ms`);
    assert.ok(b.ms >= 145 && b.ms < 400, `the second was late after ${b.ms} ms of its own`);
  });

  it('settles out of order behind a slow first operation, and times out only that one', async () => {
    const deadlines = new Deadlines(120);
    const slow = settling(deadlines.run(never(), late));
    const fast = await Promise.all(
      Array.from({ length: 3000 }, (_, i) =>
        settling(
          deadlines.run(
            sleep(i % 7).then(() => i),
            late,
          ),
        ),
      ),
    );
    assert.deepEqual(
      fast.filter((f, i) => f.outcome !== `value ${i}`),
      [],
    );
    assert.equal((await slow).outcome, 'error late');
  });

  it('holds no timer once nothing is pending, so an idle process can exit', async () => {
    const before = timers();
    const deadlines = new Deadlines(300);
    const running = deadlines.run(sleep(20), late);
    assert.equal(timers(), before + 2, "the operation's sleep and the deadline");
    await running;
    assert.equal(timers(), before);
    const hung = deadlines.run(never(), late).catch((error: Error) => error.message);
    await sleep(5);
    assert.equal(timers(), before + 1);
    // A second length's deadlines run apart: a short one ends while the long one waits.
    assert.equal(await new Deadlines(30).run(never(), late).catch((e: Error) => e.message), 'late');
    assert.equal(timers(), before + 1, 'the long deadline still waits');
    assert.equal(await hung, 'late');
    assert.equal(timers(), before);
  });
});

describe('deadlines behind a hung call', () => {
  it('calls settled behind a hung first one are dropped now and then, and later deadlines still fire', async () => {
    const deadlines = new Deadlines(200);
    const hung = settling(deadlines.run(never(), late));
    // More than the 1,024 passed entries after which the queue drops what is settled.
    await Promise.all(
      Array.from({ length: 3000 }, (_, i) => deadlines.run(Promise.resolve(i), late)),
    );
    const later = settling(deadlines.run(never(), late));
    const quick = await deadlines.run(
      sleep(5).then(() => 'quick'),
      late,
    );
    assert.equal(quick, 'quick');
    assert.equal((await hung).outcome, 'error late');
    const after = await later;
    assert.equal(after.outcome, 'error late');
    assert.ok(after.ms >= 195 && after.ms < 600, `the later one was late after ${after.ms} ms`);
  });

  it('a late() that throws still rejects the call, with what it threw', async () => {
    const deadlines = new Deadlines(20);
    const outcome = await settling(
      deadlines.run(never(), () => {
        throw new Error('late() broke');
      }),
    );
    assert.equal(outcome.outcome, 'error late() broke');
  });
});
