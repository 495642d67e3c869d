/**
 * Opening a messenger for a CLI command. Which Redis: --redis or --cluster, then
 * REDIS_CLUSTER, then REDIS_URL, then a Redis on 127.0.0.1:6379, then the embedded
 * local server.
 * @module
 */
import { ValidationError } from '../core/errors.js';
import { RedisMessenger } from '../core/messenger.js';
import { parseClusterNodes, redactUrl } from '../redis/connect.js';
import { resolveRedisUrl } from '../redis/local-server.js';
import { UsageError } from './handle-error.js';
import type { Output } from './output.js';

export interface GlobalOptions {
  redis?: string;
  /** Node URLs, parsed from --cluster. */
  cluster?: string[];
  verbose?: boolean;
}

/** The cluster nodes to use, if a Redis Cluster is what the options and environment name. */
function clusterNodes(options: GlobalOptions): string[] | undefined {
  if (options.redis !== undefined && options.cluster !== undefined) {
    throw new UsageError('give --redis (one Redis) or --cluster (a Redis Cluster), not both');
  }
  if (options.cluster) return options.cluster;
  const fromEnvironment = process.env.REDIS_CLUSTER;
  if (options.redis !== undefined || !fromEnvironment) return undefined;
  try {
    return parseClusterNodes(fromEnvironment);
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(`REDIS_CLUSTER: ${error.message}`);
    throw error;
  }
}

async function openMessenger(options: GlobalOptions, output: Output): Promise<RedisMessenger> {
  const cluster = clusterNodes(options);
  if (cluster) return RedisMessenger.connect({ cluster });
  const url = await resolveRedisUrl({
    url: options.redis,
    onStarted: (message) => output.notice(message),
  });
  return RedisMessenger.connect({ url });
}

/** Runs `work` with a messenger, and closes it however `work` ends. */
export async function withMessenger<T>(
  options: GlobalOptions,
  output: Output,
  work: (messenger: RedisMessenger) => Promise<T>,
): Promise<T> {
  const messenger = await openMessenger(options, output);
  try {
    return await work(messenger);
  } finally {
    await messenger.close();
  }
}

/**
 * ` --redis <url>` or ` --cluster <nodes>` to repeat in a suggested command when one was
 * given, with any password left out (the person who typed it knows it; a log of the hint
 * should not).
 */
export function redisFlag(options: GlobalOptions): string {
  if (options.cluster) return ` --cluster ${options.cluster.map(redactUrl).join(',')}`;
  return options.redis ? ` --redis ${redactUrl(options.redis)}` : '';
}
