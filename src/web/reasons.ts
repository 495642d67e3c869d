/** A failure in one sentence a person understands. */
import {
  RateLimitedError,
  ServerRefusedError,
  ServerUnavailableError,
  ServerUnreachableError,
} from '../client/index.js';
import { UsernameTakenError, ValidationError } from '../errors.js';

/** Why `doing` (e.g. "log in") failed, as the page shows it. */
export function reasonOf(error: unknown, doing: string): string {
  if (error instanceof UsernameTakenError) return 'That username is taken: choose another.';
  if (error instanceof ServerRefusedError && error.code === 'wrong_credentials')
    return 'Wrong username or password.';
  if (error instanceof RateLimitedError) return `Too many attempts: ${waitOf(error.message)}.`;
  if (error instanceof ServerUnreachableError)
    return `Cannot reach the server to ${doing}: check the connection.`;
  if (error instanceof ServerUnavailableError)
    return `The server is busy: ${waitOf(error.message)}.`;
  if (error instanceof ValidationError || error instanceof ServerRefusedError)
    return sentence(error.message);
  return `Could not ${doing}: ${error instanceof Error ? error.message : String(error)}.`;
}

/** "try again in 3 seconds" out of the client's "...: try again in 3 seconds". */
function waitOf(message: string): string {
  return /try again in .*$/.exec(message)?.[0] ?? 'try again later';
}

function sentence(text: string): string {
  const trimmed = text.trim().replace(/\.$/, '');
  return `${trimmed.charAt(0).toUpperCase()}${trimmed.slice(1)}.`;
}
