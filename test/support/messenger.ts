/** Messengers for tests: each in a namespace of its own on a throwaway server. */
import { randomUUID } from 'node:crypto';
import { type MessengerOptions, RedisMessenger } from '../../src/index.js';

/** A messenger whose keys live under a fresh random namespace, so tests never collide. */
export function isolatedMessenger(
  url: string,
  options: MessengerOptions = {},
): Promise<RedisMessenger> {
  return RedisMessenger.connect({ url, namespace: `test-${randomUUID()}`, ...options });
}
