/**
 * The tests' own bounded waiting (test/support/wait.ts): a helper that could retry
 * forever would hang the suite on a permanent error instead of failing it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisTimeoutError, ValidationError } from '../src/index.js';
import { retryUnconfirmed } from './support/wait.js';

describe('retryUnconfirmed', () => {
  it('tries again after unconfirmed failures, and returns what the work returns', async () => {
    let attempts = 0;
    const result = await retryUnconfirmed(
      async () => {
        attempts++;
        if (attempts < 3) throw new RedisTimeoutError(1000);
        return 'stored';
      },
      5000,
      1,
    );
    assert.equal(result, 'stored');
    assert.equal(attempts, 3);
  });

  it('throws any other error at once', async () => {
    let attempts = 0;
    await assert.rejects(
      retryUnconfirmed(
        async () => {
          attempts++;
          throw new ValidationError('a message must not be empty');
        },
        5000,
        1,
      ),
      ValidationError,
    );
    assert.equal(attempts, 1);
  });

  it('gives up once its time is over, with the last error', async () => {
    let attempts = 0;
    const started = Date.now();
    await assert.rejects(
      retryUnconfirmed(
        async () => {
          attempts++;
          throw new RedisTimeoutError(attempts);
        },
        200,
        10,
      ),
      (error: unknown) => error instanceof RedisTimeoutError && error.timeoutMs === attempts,
    );
    assert.ok(attempts > 1, `retried (${attempts} attempts)`);
    assert.ok(Date.now() - started < 2000, 'gave up near its bound');
  });
});
