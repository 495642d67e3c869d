/**
 * A deadline for work that may never finish: node-redis waits forever for a reply from a
 * server that is paused or cut off without closing the socket.
 * @module
 */

/** `work`'s result, or a rejection with `late()` once `ms` have passed. */
export async function withDeadline<T>(work: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

interface Pending {
  /** When the operation is late (performance.now() milliseconds). */
  readonly due: number;
  /** Dropped once settled: a call held up behind a hung one keeps nothing of its own alive. */
  late: (() => Error) | undefined;
  reject: ((error: Error) => void) | undefined;
  settled: boolean;
}

/** Marks `pending` settled and lets go of what it held. */
function drop(pending: Pending): void {
  pending.settled = true;
  pending.late = undefined;
  pending.reject = undefined;
}

/**
 * Deadlines of one length for many operations at once, with one timer for all of them
 * instead of a timer and a race each (a messenger's every Redis call has one: under load
 * that was a fiftieth of a send's CPU). Of operations given the same length, the one
 * begun first is due first, so the oldest unsettled one is always the next due: a queue
 * in order of start, its head passed as its operations settle. The timer runs only while
 * an operation is pending, so an idle process can exit.
 */
export class Deadlines {
  readonly #ms: number;
  #queue: Pending[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  /** `work`'s result, or a rejection with `late()` once the length has passed. */
  run<T>(work: Promise<T>, late: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = { due: performance.now() + this.#ms, late, reject, settled: false };
      this.#queue.push(pending);
      this.#timer ??= setTimeout(this.#expire, this.#ms);
      work.then(
        (value) => {
          this.#settle(pending);
          resolve(value);
        },
        (error: unknown) => {
          this.#settle(pending);
          reject(error);
        },
      );
    });
  }

  #settle(pending: Pending): void {
    drop(pending);
    this.#pass();
  }

  /** Passes the settled operations at the head; stops the timer when none is left. */
  #pass(): void {
    const queue = this.#queue;
    while (this.#head < queue.length && queue[this.#head]?.settled) this.#head++;
    if (this.#head === queue.length) {
      this.#queue = [];
      this.#head = 0;
      clearTimeout(this.#timer);
      this.#timer = undefined;
    } else if (this.#head > 1024 && this.#head * 2 > queue.length) {
      // Settled out of order behind a slow head: drop the passed part now and then.
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    for (let next = this.#queue[this.#head]; next; next = this.#queue[this.#head]) {
      if (!next.settled) {
        if (next.due > now) break;
        const { late, reject } = next;
        // Not #settle: passing the head here would skip the next one in this loop.
        drop(next);
        let error: Error;
        try {
          error = late ? late() : new Error('late');
        } catch (thrown) {
          error = thrown instanceof Error ? thrown : new Error(String(thrown));
        }
        reject?.(error);
      }
      this.#head++;
    }
    this.#pass();
    const next = this.#queue[this.#head];
    if (next) this.#timer = setTimeout(this.#expire, Math.max(1, next.due - now));
  };
}
