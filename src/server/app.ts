/**
 * The messenger's network face: an HTTP API (`/api/v1`) in front of a RedisMessenger,
 * with accounts and sessions, so that people use the messenger without the Redis
 * password. `createServer` returns a Fastify instance that is not listening: `inject()`
 * it in tests, `listen()` it to serve (the CLI's `messenger serve`), or mount it.
 * @module
 */
import { readFileSync } from 'node:fs';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { RedisMessenger } from '../index.js';
import { OneLinePerRequest, requestIds } from './access-log.js';
import { guard } from './auth/guard.js';
import { JwtIdentity, type JwtOptions } from './auth/jwt.js';
import { type RateLimitOptions, RatePolicy, rateLimitSettings } from './auth/rate-limits.js';
import { SessionCache } from './auth/session-cache.js';
import { type Server, type ServerContext, type Settings, userFinder } from './context.js';
import { answerClientError, HttpError, handleError } from './errors.js';
import { CLOSE, liveRoute, type OpenSockets } from './live.js';
import type { ServerMetrics } from './metrics.js';
import { accountRoutes } from './routes/accounts.js';
import { conversationRoutes } from './routes/conversations.js';
import { messageRoutes } from './routes/messages.js';
import { peopleRoutes } from './routes/people.js';
import { ErrorShape } from './schemas.js';
import { webPage } from './web.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The API's version, sent as a header on every answer. Raised when the API gains what a
 * client may depend on; a client that needs more says the server is too old.
 */
export const API_VERSION = 1;
export const API_VERSION_HEADER = 'x-messenger-api';

export interface ServerOptions {
  /** The messenger to serve, connected. The server does not close it. */
  messenger: RedisMessenger;
  /**
   * The origins (scheme://host[:port]) of the pages that may use the API from a browser,
   * compared exactly. A browser request from any other origin that would change
   * something, and any WebSocket from one, is refused. Empty: no browser may (bearer
   * tokens work as ever).
   */
  origins: string[];
  /** Addresses (or CIDR ranges) of proxies whose X-Forwarded-For is believed. @defaultValue none */
  trustProxy?: string[];
  /** A session unused this long ends. @defaultValue 7 days */
  sessionIdleMs?: number;
  /** A session ends this long after sign-in, however it is used. @defaultValue 30 days */
  sessionAbsoluteMs?: number;
  /**
   * The rate limits (src/server/auth/rate-limits.ts): any of the numbers, the rest their
   * defaults; or false for none at all (benchmarks on a trusted network).
   * @defaultValue the defaults of RATE_LIMIT_DEFAULTS
   */
  rateLimits?: Partial<RateLimitOptions> | false;
  /**
   * Sign-in with JWTs from the app that owns the users (`POST /api/v1/login/jwt`).
   * @defaultValue none: not accepted
   */
  jwt?: JwtOptions;
  /**
   * Where to count requests, sockets and messages (serve them with metricsListener, off
   * the public port). @defaultValue none: nothing is counted
   */
  metrics?: ServerMetrics;
  /** Fastify's logger (pino): true, false, or pino options. @defaultValue false */
  logger?: boolean | Record<string, unknown>;
}

/** The largest request body accepted: a message of 4,096 characters fits many times over. */
const BODY_LIMIT = 64 * 1024;

/** Builds the server (routes, hooks, error handling); it is not listening yet. */
export async function createServer(options: ServerOptions): Promise<Server> {
  const origins = new Set(options.origins.map(normalOrigin));
  const rates =
    options.rateLimits === false
      ? null
      : new RatePolicy(options.messenger.rateLimits, rateLimitSettings(options.rateLimits));
  const secure = origins.size > 0 && [...origins].every((origin) => origin.startsWith('https:'));
  const settings: Settings = {
    origins,
    sessionIdleMs: options.sessionIdleMs ?? 7 * DAY_MS,
    sessionAbsoluteMs: options.sessionAbsoluteMs ?? 30 * DAY_MS,
    // The __Host- prefix makes browsers insist on Secure, Path=/ and no Domain.
    cookieName: secure ? '__Host-messenger_session' : 'messenger_session',
    secureCookie: secure,
  };
  const app = Fastify({
    logger: options.logger ?? false,
    // One line per request (src/server/access-log.ts), not Fastify's two.
    logController: new OneLinePerRequest(),
    bodyLimit: BODY_LIMIT,
    trustProxy: options.trustProxy && options.trustProxy.length > 0 ? options.trustProxy : false,
    genReqId: requestIds(),
    clientErrorHandler: answerClientError,
    // The router's refusals (a path part too long, a path not valid) in the one shape too.
    frameworkErrors: handleError,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // A form can post text/plain across sites without a preflight: only JSON is accepted.
  app.removeContentTypeParser('text/plain');
  await app.register(cookie);
  const sockets: OpenSockets = new Set();
  const metrics = options.metrics ?? null;
  if (metrics) {
    metrics.countSockets(() => sockets.size);
    app.addHook('onResponse', async (request, reply) => {
      // The route's pattern, never the URL itself: its ids and names would make a series
      // per message, and would tell the metrics' reader who talks to whom.
      const route = request.routeOptions.url ?? '(no route)';
      metrics.answered(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
      if (reply.statusCode === 201 && /^\/api\/v1\/messages(\/:id)?$/.test(route)) metrics.sent();
    });
  }
  await app.register(websocket, {
    // ws accepts 100 MiB frames by default; a hello is a few dozen bytes.
    options: { maxPayload: 64 * 1024 },
    // A frame the socket cannot take (over 64 KiB, a broken frame) is the client's doing:
    // ws has closed it with the right code (1009, 1002); noted, not logged as the server's error.
    errorHandler: (error, socket, request) => {
      request.log.info(
        { code: (error as NodeJS.ErrnoException).code },
        'live socket broke the protocol',
      );
      socket.terminate();
    },
    preClose: async () => {
      for (const socket of sockets) socket.close(CLOSE.goingAway, 'server going away: reconnect');
      await new Promise<void>((resolve) => app.websocketServer.close(() => resolve()));
    },
  });
  // Every route answers errors in one shape (429 and 503 included): said once here, so
  // that replies are serialized with it and the OpenAPI document shows it on every route.
  app.addHook('onRoute', (route) => {
    route.schema ??= {};
    route.schema.response ??= {};
    const response = route.schema.response as Record<string, unknown>;
    response['4xx'] ??= ErrorShape;
    response['5xx'] ??= ErrorShape;
    if (route.config?.public) (route.schema as { security?: unknown[] }).security = [];
    if (route.websocket) {
      // @fastify/websocket hides its routes from the document; the live channel belongs in it.
      Object.assign(route.schema, {
        hide: false,
        description:
          'The live channel (WebSocket, JSON frames): hello with a cursor, replay, then push. docs/server.md describes the frames and close codes.',
      });
      response[101] ??= { description: 'switching to the WebSocket protocol' };
      // Plain HTTP to it: the plugin would answer a bare 404; this says what it is.
      const hooks = route.preHandler;
      route.preHandler = [...(Array.isArray(hooks) ? hooks : hooks ? [hooks] : []), upgradeOnly];
    }
  });
  // The OpenAPI document is made from the same route schemas that validate requests.
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'redis-messenger',
        version: VERSION,
        description: 'The HTTP API of redis-messenger (docs/server.md).',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'the token from login' },
          cookie: { type: 'apiKey', in: 'cookie', name: settings.cookieName },
        },
      },
      security: [{ bearer: [] }, { cookie: [] }],
    },
  });
  // Clients compare it with the version they need (src/client/http.ts): one header, no extra request.
  // Set as the request comes (no hook of its own at the answer): replies to errors keep it.
  const apiVersion = String(API_VERSION);
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header(API_VERSION_HEADER, apiVersion);
    done();
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) =>
    handleError(
      new HttpError(404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
      request,
      reply,
    ),
  );

  const cookieOptions = {
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure,
    maxAge: Math.floor(settings.sessionAbsoluteMs / 1000),
  };
  const context: Omit<ServerContext, 'app'> = {
    messenger: options.messenger,
    metrics,
    jwt: options.jwt ? new JwtIdentity(options.jwt) : null,
    rates,
    settings,
    setSessionCookie: (reply: FastifyReply, token: string) =>
      void reply.setCookie(settings.cookieName, token, cookieOptions),
    clearSessionCookie: (reply: FastifyReply) =>
      void reply.clearCookie(settings.cookieName, { ...cookieOptions, maxAge: undefined }),
    findUser: userFinder(options.messenger),
  };

  const Ok = { 200: Type.Object({ ok: Type.Boolean() }) };
  app.get('/healthz', { config: { public: true }, schema: { response: Ok } }, async () => ({
    ok: true,
  }));
  app.get(
    '/readyz',
    { config: { public: true }, schema: { response: { ...Ok, 503: ErrorShape } } },
    async (_request, reply) => {
      try {
        await options.messenger.listAllUsers({ limit: 1 });
        return { ok: true };
      } catch {
        return reply
          .status(503)
          .header('retry-after', '1')
          .send({
            error: { code: 'unavailable', message: 'the messenger cannot reach its store' },
          });
      }
    },
  );

  // The web page at `/` (src/web/): same origin as the API, so its cookie and CSRF apply.
  webPage(app, { secure });

  const sessions = new SessionCache(options.messenger.accounts);
  app.addHook('onClose', () => sessions.close());
  await app.register(
    async (api) => {
      api.addHook(
        'onRequest',
        guard({
          messenger: options.messenger,
          origins,
          cookieName: settings.cookieName,
          idleMs: settings.sessionIdleMs,
          rates,
          sessions,
        }),
      );
      const scoped = { ...context, app: api as Server };
      accountRoutes(scoped);
      peopleRoutes(scoped);
      messageRoutes(scoped);
      conversationRoutes(scoped);
      liveRoute(scoped, sockets);
      api.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () =>
        app.swagger(),
      );
    },
    { prefix: '/api/v1' },
  );
  return app as Server;
}

async function upgradeOnly(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.ws) return;
  reply.header('upgrade', 'websocket');
  throw new HttpError(426, 'upgrade_required', 'the live channel is a WebSocket: send an upgrade');
}

/** An origin as browsers send it: scheme://host[:port], lower case, no path. */
function normalOrigin(origin: string): string {
  const url = new URL(origin);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`an origin is http:// or https://, got ${origin}`);
  return url.origin;
}
