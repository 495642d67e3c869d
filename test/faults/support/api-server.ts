/**
 * The server for the attack and fuzz tests: `createServer` listening on a free port of
 * 127.0.0.1 (real HTTP and WebSocket, Node's own parser in front), on a throwaway Redis,
 * with its log lines (pino, configured as `messenger serve` configures it) kept so that a
 * test can look for secrets in them; plus signing up users through it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { RedisMessenger } from '../../../src/index.js';
import { createServer, type Server, type ServerOptions } from '../../../src/server/index.js';
import { lineCollector } from '../../support/capture.js';
import { noteSecrets, suiteLogWriter } from '../../support/suite-logs.js';

export const ORIGIN = 'http://chat.test';

export interface ApiServer {
  server: Server;
  messenger: RedisMessenger;
  /** http://127.0.0.1:<port> */
  base: string;
  namespace: string;
  /** Every log line so far. */
  logs: string[];
  close(): Promise<void>;
}

export async function startApiServer(
  redisUrl: string,
  options: Partial<Omit<ServerOptions, 'messenger'>> = {},
  namespace = `attack-${randomUUID()}`,
): Promise<ApiServer> {
  const messenger = await RedisMessenger.connect({ url: redisUrl, namespace });
  const logs: string[] = [];
  const server = await createServer({
    messenger,
    origins: [ORIGIN],
    // As `messenger serve` has it (src/cli/commands/serve.ts): info, every request a line.
    logger: { level: 'info', stream: lineCollector(logs, suiteLogWriter('api-server')) },
    ...options,
  });
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    server,
    messenger,
    base: `http://127.0.0.1:${port}`,
    namespace,
    logs,
    async close() {
      await server.close();
      await messenger.close();
    },
  };
}

export interface Account {
  username: string;
  password: string;
  id: string;
  token: string;
  /** `name=value` of the session cookie. */
  cookie: string;
}

/** A new user, registered over HTTP (from `forwardedFor`, when the server trusts 127.0.0.1). */
export async function signUp(base: string, forwardedFor?: string): Promise<Account> {
  const username = `u${randomUUID().slice(0, 8)}`;
  const password = `pw ${randomUUID()}`;
  const response = await fetch(`${base}/api/v1/register`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
    },
    body: JSON.stringify({ username, password }),
  });
  const body = (await response.json()) as { user: { id: string }; token: string };
  assert.equal(response.status, 201, JSON.stringify(body));
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  noteSecrets(password, body.token, cookie.split('=')[1]);
  return { username, password, id: body.user.id, token: body.token, cookie };
}

/** Lines of a response body or a log that look like a stack trace. */
export const STACK_TRACE = /\n\s+at [^\n]+\(|^\s*at [\w.<>]+ \(.*:\d+:\d+\)/m;
