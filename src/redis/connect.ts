/**
 * Turning connection options into a connected node-redis client: URL parsing (including
 * unix:// for the embedded server), timeouts, and a reconnect policy that fails fast on
 * the first connection but keeps trying once a connection has worked.
 * @module
 */
import { createClient, type RedisClientType } from 'redis';
import { RedisUnavailableError, ValidationError } from '../core/errors.js';

export type RedisClient = RedisClientType;

/** Where Redis is when nothing says otherwise. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface ConnectionOptions {
  /** redis://, rediss:// (TLS) or unix:///path/to/socket. */
  url: string;
  /** How long the first connection may take before `connect` fails. */
  connectTimeoutMs: number;
  /** Called with errors the client reports while it reconnects on its own. */
  onError?: (error: Error) => void;
}

/** The URL with any password replaced, fit to print in an error or a log. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(a malformed URL)';
  }
}

function clientOptions(url: string) {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(
      `the Redis URL ${JSON.stringify(url)} is not a URL; expected redis://host:port`,
    );
  }
  if (parsed.protocol === 'unix:') return { socket: { path: decodeURIComponent(parsed.pathname) } };
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ValidationError(
      `the Redis URL must start with redis://, rediss:// or unix://, got ${parsed.protocol}//`,
    );
  }
  return { url };
}

/** Backoff while reconnecting: 50 ms doubling to 2 s, with jitter so clients spread out. */
function reconnectDelay(retries: number): number {
  return Math.min(2 ** retries * 50, 2000) + Math.floor(Math.random() * 100);
}

/** Opens a client and resolves once it is ready, or rejects with RedisUnavailableError. */
export async function openClient(options: ConnectionOptions): Promise<RedisClient> {
  const target = redactUrl(options.url);
  const base = clientOptions(options.url);
  let connectedOnce = false;
  const client = createClient({
    ...base,
    socket: {
      ...('socket' in base ? base.socket : {}),
      connectTimeout: options.connectTimeoutMs,
      // Before the first success a failure is final (connect rejects at once, no hang);
      // after it, a dropped connection is retried until `close`.
      reconnectStrategy: (retries: number, cause: Error) =>
        connectedOnce ? reconnectDelay(retries) : new RedisUnavailableError(target, { cause }),
    },
  });
  // Without a listener an 'error' event would crash the process.
  client.on('error', (error: Error) => options.onError?.(error));
  client.on('ready', () => {
    connectedOnce = true;
  });
  try {
    await client.connect();
  } catch (cause) {
    if (client.isOpen) client.destroy();
    if (cause instanceof RedisUnavailableError) throw cause;
    throw new RedisUnavailableError(target, { cause });
  }
  return client;
}
