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
  ServerTooOldError,
  ServerUnreachableError,
  SessionEndedError,
  UserNotFoundError,
  UsernameNotFoundError,
  UsernameTakenError,
  ValidationError,
} from '../index.js';
import { INVOCATION } from './globals.js';
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

/**
 * Node's codes for a TLS certificate it refused (the server's is self-signed, expired, for
 * another name, or from a CA this machine does not know).
 */
const CERTIFICATE_CODES =
  /^(CERT_|UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH|ERR_SSL_)/;

/** The code of a refused certificate somewhere in the error's causes, if there is one. */
function refusedCertificate(error: unknown): string | undefined {
  for (let at = error, depth = 0; at instanceof Error && depth < 5; depth++) {
    const code = (at as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && CERTIFICATE_CODES.test(code)) return code;
    at = at.cause;
  }
  return undefined;
}

/** The one line for an error of a server's client, or undefined for any other error. */
function serverLine(error: MessengerError): string | undefined {
  if (error instanceof ServerUnreachableError) {
    const code = refusedCertificate(error);
    if (code) {
      return `the server at ${error.url} presented a TLS certificate this machine does not trust (${code}): check the address; for a private CA, point NODE_EXTRA_CA_CERTS at its certificate`;
    }
    return `${error.message} (check --server or MESSENGER_SERVER, or ${INVOCATION} whoami)`;
  }
  if (error instanceof SessionEndedError) {
    return `${error.message}: ${INVOCATION} login <name> --server <url>`;
  }
  if (error instanceof ServerTooOldError) return error.message;
  return undefined;
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
    output.notice(red(`error: ${serverLine(error) ?? `${error.message}${nextStep(error)}`}`));
    return error instanceof ValidationError ? EXIT_USAGE : EXIT_FAILURE;
  }
  const message = error instanceof Error ? error.message : String(error);
  output.notice(red(`error: ${message}${verbose ? '' : ' (run with --verbose for details)'}`));
  return EXIT_FAILURE;
}
