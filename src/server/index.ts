/**
 * redis-messenger/server: the HTTP API in front of a RedisMessenger.
 *
 * @example
 * ```ts
 * import { RedisMessenger } from 'redis-messenger';
 * import { createServer } from 'redis-messenger/server';
 * const messenger = await RedisMessenger.connect();
 * const server = await createServer({ messenger, origins: ['https://chat.example.com'] });
 * await server.listen({ port: 8080 });
 * ```
 * @module
 */
export { type BatchedLines, batchedLines } from './access-log.js';
export { createServer, type ServerOptions } from './app.js';
export { HS256_MIN_BYTES, JwtIdentity, type JwtOptions } from './auth/jwt.js';
export { hashPassword, PASSWORD_MAX, PASSWORD_MIN, passwordProblem } from './auth/passwords.js';
export {
  RATE_LIMIT_DEFAULTS,
  RATE_LIMIT_FLAGS,
  type RateLimitOptions,
} from './auth/rate-limits.js';
export type { Server } from './context.js';
export { metricsListener, ServerMetrics } from './metrics.js';
