/**
 * Parsers for option values, run by commander at the edge: a bad value is a usage error
 * (exit code 2) before anything touches Redis.
 * @module
 */
import { InvalidArgumentError } from 'commander';
import { isId, MAX_PAGE_LIMIT } from '../core/validate.js';

export function parseLimit(value: string): number {
  const limit = Number(value);
  if (!/^\d+$/.test(value) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_PAGE_LIMIT}`);
  }
  return limit;
}

/** A paging cursor: the id of a message (or user) from an earlier page. */
export function parseCursor(value: string): string {
  if (!isId(value, true))
    throw new InvalidArgumentError('expected a message id from an earlier page');
  return value;
}
