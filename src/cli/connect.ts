/**
 * Opening a messenger for a CLI command: the Redis URL comes from --redis, then
 * REDIS_URL, then a Redis on 127.0.0.1:6379, then the embedded local server.
 * @module
 */
import { RedisMessenger } from '../core/messenger.js';
import { redactUrl } from '../redis/connect.js';
import { resolveRedisUrl } from '../redis/local-server.js';
import type { Output } from './output.js';

export interface GlobalOptions {
  redis?: string;
  verbose?: boolean;
}

async function openMessenger(options: GlobalOptions, output: Output): Promise<RedisMessenger> {
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
 * ` --redis <url>` to repeat in a suggested command when one was given, with any password
 * left out (the person who typed it knows it; a log of the hint should not).
 */
export function redisFlag(options: GlobalOptions): string {
  return options.redis ? ` --redis ${redactUrl(options.redis)}` : '';
}
