/**
 * The CLI's one error handler: every failure becomes one line on standard error and an
 * exit code. A stack trace only with --verbose.
 * @module
 */
import { MessengerError, RedisUnavailableError, ValidationError } from '../core/errors.js';
import type { Output } from './output.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Thrown by a command for a bad argument: exit code 2, like commander's own usage errors. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function handleError(error: unknown, output: Output, verbose: boolean): number {
  const { red } = output.colors;
  if (verbose && error instanceof Error) output.notice(error.stack ?? String(error));
  if (error instanceof UsageError) {
    output.notice(red(`error: ${error.message}`));
    return EXIT_USAGE;
  }
  if (error instanceof MessengerError) {
    let hint = '';
    if (error instanceof RedisUnavailableError) hint = ' (set REDIS_URL or pass --redis <url>)';
    output.notice(red(`error: ${error.message}${hint}`));
    return error instanceof ValidationError ? EXIT_USAGE : EXIT_FAILURE;
  }
  const message = error instanceof Error ? error.message : String(error);
  output.notice(red(`error: ${message}${verbose ? '' : ' (run with --verbose for details)'}`));
  return EXIT_FAILURE;
}
