/** Bounded waiting for tests: nothing here can wait forever. */
import { isUnconfirmed } from '../../src/index.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves once `predicate` holds, polling; rejects after `ms`, naming `what`. */
export async function eventually(
  predicate: () => boolean,
  ms = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** `work`, or a rejection once it has taken longer than `ms`. */
export async function within<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `work`, tried again while it fails unconfirmed (`isUnconfirmed`: Redis may or may not
 * have done it, so a careful caller retries, a send with the same message id), for at
 * most `ms` in all; then its last error. Any other error is thrown at once: a permanent
 * failure must fail the test, not keep it retrying.
 */
export async function retryUnconfirmed<T>(
  work: () => Promise<T>,
  ms = 20_000,
  pauseMs = 20,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (!isUnconfirmed(error) || Date.now() >= deadline) throw error;
      await sleep(pauseMs);
    }
  }
}
