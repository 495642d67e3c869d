/**
 * Parsers for option values, run by commander at the edge: a bad value is a usage error
 * (exit code 2) before anything touches Redis.
 * @module
 */
import { InvalidArgumentError } from 'commander';
import {
  isId,
  MAX_PAGE_LIMIT,
  parseClusterNodes,
  ValidationError,
  validateNamespace,
} from '../index.js';
import { normalServer } from './connect-server.js';

/** The page sizes parseLimit takes, as --help shows them: the messenger's own bounds. */
export const LIMIT_RANGE = `1-${MAX_PAGE_LIMIT}`;

export function parseLimit(value: string): number {
  const limit = Number(value);
  if (!/^\d+$/.test(value) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_PAGE_LIMIT}`);
  }
  return limit;
}

/** An id typed on the command line: a UUID, in any case. */
function idParser(what: string): (value: string) => string {
  return (value) => {
    if (!isId(value, true)) throw new InvalidArgumentError(`expected ${what}`);
    return value;
  };
}

/** A paging cursor: the id of a message from an earlier page. */
export const parseCursor = idParser('a message id from an earlier page');

/** A paging cursor for the user list: the id of a user from an earlier page. */
export const parseUserCursor = idParser('a user id from an earlier page');

/** A message id chosen by the caller. */
export const parseId = idParser('a UUID');

/** --cluster: Redis Cluster nodes as `host:port` or URLs, comma-separated (see parseClusterNodes). */
export function parseClusterOption(value: string): string[] {
  try {
    return parseClusterNodes(value);
  } catch (error) {
    if (error instanceof ValidationError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

/** --server: a messenger server's address, https:// (or http://). */
export function parseServer(value: string): string {
  try {
    return normalServer(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** --namespace: the prefix of every key, checked as the library checks it. */
export function parseNamespace(value: string): string {
  try {
    return validateNamespace(value);
  } catch (error) {
    if (error instanceof ValidationError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}
