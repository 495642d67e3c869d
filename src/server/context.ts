/**
 * What every route file is given: the Fastify instance (with TypeBox types), the
 * messenger, the settings, and the few helpers more than one resource needs.
 * @module
 */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import { type RedisMessenger, type User, ValidationError } from '../index.js';
import type { JwtIdentity } from './auth/jwt.js';
import type { RatePolicy } from './auth/rate-limits.js';
import { HttpError } from './errors.js';
import type { ServerMetrics } from './metrics.js';

export type Server = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** The server's settings, defaults filled in. */
export interface Settings {
  origins: ReadonlySet<string>;
  sessionIdleMs: number;
  sessionAbsoluteMs: number;
  cookieName: string;
  secureCookie: boolean;
}

export interface ServerContext {
  app: Server;
  messenger: RedisMessenger;
  settings: Settings;
  /** The rate limits; null when they are off. */
  rates: RatePolicy | null;
  /** How JWTs of the app that owns the users are checked; null when they are not accepted. */
  jwt: JwtIdentity | null;
  /** Where to count what happens; null when nothing is counted. */
  metrics: ServerMetrics | null;
  setSessionCookie(reply: FastifyReply, token: string): void;
  clearSessionCookie(reply: FastifyReply): void;
  /** The user a path or a body names, by username or by id; 404 when there is none. */
  findUser(nameOrId: string): Promise<User>;
}

/** A user id, as a path or a body may name a user instead of a username. */
export const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function userFinder(messenger: RedisMessenger): (nameOrId: string) => Promise<User> {
  return async (nameOrId) => {
    let user: User | null = null;
    try {
      user = USER_ID.test(nameOrId)
        ? await messenger.getUser(nameOrId.toLowerCase())
        : await messenger.findUserByUsername(nameOrId);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
    }
    if (!user)
      throw new HttpError(404, 'user_not_found', `no user is named ${JSON.stringify(nameOrId)}`);
    return user;
  };
}
