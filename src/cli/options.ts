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

/**
 * Redis Cluster nodes: `host:port` or redis:// (rediss://) URLs, separated by commas.
 * Returns URLs. For --cluster and REDIS_CLUSTER alike.
 */
export function parseClusterNodes(value: string): string[] {
  const nodes = value
    .split(',')
    .map((node) => node.trim())
    .filter((node) => node !== '');
  if (nodes.length === 0) {
    throw new InvalidArgumentError('expected host:port of at least one cluster node');
  }
  return nodes.map((node) => {
    if (/^rediss?:\/\//.test(node)) return node;
    const match = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(node);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      // Not echoed whole: a malformed URL may hold a password.
      throw new InvalidArgumentError(
        'expected cluster nodes as host:port (or redis://host:port), separated by commas',
      );
    }
    return `redis://${node}`;
  });
}
