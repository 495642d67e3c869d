/**
 * Opening a messenger for a CLI command: the Redis URL comes from --redis, then
 * REDIS_URL, then a Redis on 127.0.0.1:6379, then the embedded local server.
 * @module
 */
import { RedisMessenger } from '../core/messenger.js';
import { resolveRedisUrl } from '../redis/local-server.js';
import type { Output } from './output.js';

export interface GlobalOptions {
  redis?: string;
  verbose?: boolean;
}

export async function openMessenger(
  options: GlobalOptions,
  output: Output,
): Promise<RedisMessenger> {
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
