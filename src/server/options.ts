/**
 * What configures the server, apart from the server itself: the rate limits' names,
 * defaults and flags. Light to load (no Fastify), so that the CLI can build its `serve`
 * flags without loading the server for every command.
 * @module
 */
export {
  RATE_LIMIT_DEFAULTS,
  RATE_LIMIT_FLAGS,
  type RateLimitOptions,
} from './auth/rate-limits.js';
