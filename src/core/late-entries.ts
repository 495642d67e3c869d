/**
 * Entries stored behind a subscription's cursor. The original program scores a message
 * with its own clock, read before its two writes, so when it writes while this library
 * (or a second copy of it) does, its entry can land before one already delivered: a read
 * "after the cursor" never finds it. A subscription on its keys therefore remembers what
 * it delivered in a window behind the cursor (the members, with their scores), and after
 * a catch-up compares the inbox's count of that window with its own: equal is the usual
 * answer (one ZCOUNT); a difference names entries to read and deliver.
 * @module
 */

/** How far behind the cursor, in seconds of score, a late entry is still looked for. */
export const LATE_WINDOW_S = 10;
/** At most this many members are remembered; past it the window narrows. */
export const LATE_MEMORY = 2000;

/** The open score range (low, high) to count, as Redis reads bounds. */
export interface LateWindow {
  low: number;
  high: number;
  /** ZCOUNT / ZRANGE BYSCORE bounds, both exclusive. */
  min: string;
  max: string;
}

function exclusive(score: number): string {
  if (score === Number.NEGATIVE_INFINITY) return '-inf';
  return `(${score}`;
}

/** What one subscription delivered in the window behind its cursor. */
export class LateEntries {
  /** Members delivered (or found unreadable) scored above #floor, with their scores. */
  readonly #known = new Map<string, number>();
  /** Every entry scored at or below it is out of the window. */
  #floor: number;

  /** `cursorScore`: the score of the entry the subscription starts after (null: none). */
  constructor(cursorScore: number | null) {
    this.#floor = cursorScore ?? Number.NEGATIVE_INFINITY;
  }

  /** Remembers an entry delivered (or skipped), and moves the window up with the cursor. */
  delivered(member: string, score: number, cursorScore: number): void {
    if (!(score > this.#floor)) return;
    this.#known.set(member, score);
    this.#raiseFloor(cursorScore - LATE_WINDOW_S, false);
    if (this.#known.size > LATE_MEMORY) {
      // Down to nine tenths at once, so that the sort is paid once per many deliveries.
      const scores = [...this.#known.values()].sort((a, b) => a - b);
      const keep = Math.floor(LATE_MEMORY * 0.9);
      this.#raiseFloor(scores[scores.length - keep - 1] ?? this.#floor, true);
    }
  }

  /** The window to count, below the cursor's score; null when it is empty. */
  window(cursorScore: number): LateWindow | null {
    if (!(this.#floor < cursorScore)) return null;
    return {
      low: this.#floor,
      high: cursorScore,
      min: exclusive(this.#floor),
      max: exclusive(cursorScore),
    };
  }

  /** How many remembered entries lie inside the window. */
  count(window: LateWindow): number {
    let inside = 0;
    for (const score of this.#known.values())
      if (score > window.low && score < window.high) inside++;
    return inside;
  }

  /**
   * The entries of the window not delivered yet, oldest first. `entries` are the window's
   * first ones as the inbox holds them, and `complete` says whether they are all of it.
   * Remembered entries the inbox no longer holds (up to where `entries` reach) are
   * forgotten, so that the counts agree again.
   */
  unknown(
    window: LateWindow,
    entries: readonly { value: string; score: number }[],
    complete: boolean,
  ): { value: string; score: number }[] {
    const present = new Set(entries.map((entry) => entry.value));
    const reached = complete ? window.high : (entries.at(-1)?.score ?? window.low);
    for (const [member, score] of this.#known) {
      if (score > window.low && score < reached && !present.has(member)) this.#known.delete(member);
    }
    return entries.filter((entry) => !this.#known.has(entry.value));
  }

  /**
   * Raises the floor and forgets what falls below it. Entries are mostly remembered in
   * score order, so unless `everything` the sweep stops at the first one still inside; a
   * late one left behind is out of every window, and goes at the next full sweep.
   */
  #raiseFloor(floor: number, everything: boolean): void {
    if (!(floor > this.#floor)) return;
    this.#floor = floor;
    for (const [member, score] of this.#known) {
      if (score <= floor) this.#known.delete(member);
      else if (!everything) return;
    }
  }
}
