/**
 * The CLI's one error handler: every failure becomes one line on standard error and an
 * exit code. A stack trace only with --verbose.
 * @module
 */
import {
  CursorNotFoundError,
  MessengerError,
  RedisTimeoutError,
  RedisUnavailableError,
  UserNotFoundError,
  UsernameNotFoundError,
  UsernameTakenError,
  ValidationError,
} from '../index.js';
import type { Output } from './output.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Thrown by a command for a bad argument: exit code 2, like commander's own usage errors. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * A failure whose message already says everything, next step included (exit code 1). The
 * error it stands for is its `cause`.
 */
export class CommandFailedError extends MessengerError {
  override name = 'CommandFailedError';
}

/** What to do next, for the errors where that is not obvious from the message. */
function nextStep(error: MessengerError): string {
  if (error instanceof RedisUnavailableError) {
    // The message itself asks whether Redis runs; this says where to point at another.
    return error.target.endsWith('(a Redis Cluster)')
      ? ' (check --cluster or REDIS_CLUSTER)'
      : ' (set REDIS_URL or pass --redis <url>)';
  }
  if (error instanceof CursorNotFoundError) {
    return ' (a cursor is an id this same listing printed; leave out --before/--after to start from the newest page)';
  }
  if (error instanceof RedisTimeoutError) return ' (is Redis overloaded or paused? try again)';
  if (error instanceof UsernameNotFoundError || error instanceof UserNotFoundError) {
    return ' (messenger user list shows everyone)';
  }
  if (error instanceof UsernameTakenError) return ' (choose another name)';
  return '';
}

export function handleError(error: unknown, output: Output, verbose: boolean): number {
  const { red } = output.noticeColors;
  if (verbose && error instanceof Error) output.notice(error.stack ?? String(error));
  if (error instanceof UsageError) {
    output.notice(red(`error: ${error.message}`));
    return EXIT_USAGE;
  }
  if (error instanceof MessengerError) {
    output.notice(red(`error: ${error.message}${nextStep(error)}`));
    return error instanceof ValidationError ? EXIT_USAGE : EXIT_FAILURE;
  }
  const message = error instanceof Error ? error.message : String(error);
  output.notice(red(`error: ${message}${verbose ? '' : ' (run with --verbose for details)'}`));
  return EXIT_FAILURE;
}
