/**
 * Which Redis to use, decided in one place: a Redis Cluster (`cluster` given, else
 * `REDIS_CLUSTER`) or one Redis (`url` given, else `REDIS_URL`). What to do when nothing
 * names one is the caller's: the library uses 127.0.0.1:6379, the CLI looks there and
 * then starts its own (./local-server.ts).
 * @module
 */
import { ValidationError } from '../errors.js';
import { parseClusterNodes } from './connect.js';

export type Target = { kind: 'standalone'; url: string } | { kind: 'cluster'; urls: string[] };

/** Where a named target came from. */
export type TargetSource = 'given' | 'REDIS_CLUSTER' | 'REDIS_URL';

export interface TargetChoice {
  url?: string;
  /** URLs of some nodes of a Redis Cluster. */
  cluster?: string[];
}

/** The Redis that the options, or else the environment, name; null when none does. */
export function namedTarget(
  given: TargetChoice,
  env: NodeJS.ProcessEnv = process.env,
): { target: Target; source: TargetSource } | null {
  if (given.cluster !== undefined) {
    const urls: unknown = given.cluster;
    if (!Array.isArray(urls) || urls.some((url) => typeof url !== 'string'))
      throw new ValidationError('cluster must be an array of node URLs (redis://host:port)');
    if (given.url !== undefined)
      throw new ValidationError(
        'give either url (one Redis) or cluster (a Redis Cluster), not both',
      );
    return { target: { kind: 'cluster', urls: urls as string[] }, source: 'given' };
  }
  if (given.url !== undefined)
    return { target: { kind: 'standalone', url: given.url }, source: 'given' };
  if (env.REDIS_CLUSTER) {
    return {
      target: { kind: 'cluster', urls: parseClusterNodes(env.REDIS_CLUSTER) },
      source: 'REDIS_CLUSTER',
    };
  }
  if (env.REDIS_URL)
    return { target: { kind: 'standalone', url: env.REDIS_URL }, source: 'REDIS_URL' };
  return null;
}
