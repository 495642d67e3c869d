/**
 * Which server a person's command goes through, if any, and with which session. The rule
 * (docs/cli.md, "Two ways to connect"): --server; else Redis if --redis or --cluster is
 * given; else MESSENGER_SERVER; else the server of a saved login; else Redis. The
 * token: MESSENGER_TOKEN, else the saved login's when it is for that server.
 * @module
 */
import type { MessengerClient } from '../client/index.js';
import { SessionEndedError, type User } from '../index.js';
import { type GlobalOptions, INVOCATION } from './globals.js';
import { CommandFailedError, UsageError } from './handle-error.js';
import { shellWord } from './output.js';
import { readLogin, type SavedLogin } from './saved-login.js';
import { ServerMessenger } from './server-messenger.js';

/** How long one request may take, and a send keep trying: as long as a Redis call may. */
const REQUEST_TIMEOUT_MS = 5000;

export interface ChosenServer {
  url: string;
  /** Where the address came from. */
  source: '--server' | 'MESSENGER_SERVER' | 'login';
  /** The saved login, when there is one. */
  saved: SavedLogin | null;
}

/** Where a server's address came from, as the tail of a message about it. */
export const SERVER_ORIGIN: Record<ChosenServer['source'], string> = {
  '--server': 'given with --server',
  MESSENGER_SERVER: 'the address in MESSENGER_SERVER',
  login: 'the server you logged in to',
};

/**
 * A server's address as kept and compared: `https://host[:port]` and a path if it has
 * one, no trailing slash. Throws a plain Error with the reason for anything else.
 */
export function normalServer(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`expected a server address such as https://chat.example.com, got ${value}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`a server address starts with https:// (or http://), got ${value}`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new Error('a server address has no user, password, query or fragment');
  }
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}${path}`;
}

/** The server the options, the environment or a saved login name, or null for Redis. */
export async function chooseServer(
  options: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ChosenServer | null> {
  const chosen = await namedServer(options, env);
  if (chosen && options.namespace !== undefined) {
    throw new UsageError(
      `--namespace is for Redis, and this command goes through the server at ${chosen.url} (${SERVER_ORIGIN[chosen.source]}): leave it out, or give --redis`,
    );
  }
  return chosen;
}

async function namedServer(
  options: GlobalOptions,
  env: NodeJS.ProcessEnv,
): Promise<ChosenServer | null> {
  if (options.server !== undefined && (options.redis !== undefined || options.cluster)) {
    throw new UsageError('give --server (a messenger server) or --redis/--cluster, not both');
  }
  if (options.redis !== undefined || options.cluster !== undefined) return null;
  const saved = await readLogin(env);
  if (options.server !== undefined) return { url: options.server, source: '--server', saved };
  if (env.MESSENGER_SERVER) {
    try {
      return { url: normalServer(env.MESSENGER_SERVER), source: 'MESSENGER_SERVER', saved };
    } catch (error) {
      throw new UsageError(`MESSENGER_SERVER: ${(error as Error).message}`);
    }
  }
  return saved ? { url: saved.server, source: 'login', saved } : null;
}

/** Operator commands need Redis: pointed at a server, they say so (a usage error). */
export function refuseServer(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): void {
  const named = options.redis !== undefined || options.cluster !== undefined;
  const server = options.server ?? (named ? undefined : env.MESSENGER_SERVER);
  if (server === undefined) return;
  const what = options.command ? `${INVOCATION} ${options.command}` : 'this command';
  const from = options.server !== undefined ? '--server' : 'MESSENGER_SERVER';
  throw new UsageError(
    `${what} works on Redis only, not through a server (${from}): give --redis <url> or --cluster <nodes>${from === 'MESSENGER_SERVER' ? ', or unset MESSENGER_SERVER' : ''}`,
  );
}

/**
 * The client, and Node's WebSocket (the ws package), loaded only by a command that goes
 * through a server: the commands on Redis start without them.
 */
async function clientParts() {
  const [{ MessengerClient }, { WebSocket }] = await Promise.all([
    import('../client/index.js'),
    import('ws'),
  ]);
  const settings = {
    WebSocket,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    sendDeadlineMs: REQUEST_TIMEOUT_MS,
  };
  return { MessengerClient, settings };
}

/** A client of `server` with the CLI's timeouts and WebSocket. */
export async function clientOf(server: string, token?: string): Promise<MessengerClient> {
  const { MessengerClient, settings } = await clientParts();
  return new MessengerClient({ server, ...(token !== undefined ? { token } : {}), ...settings });
}

/** Logs in or signs up on `server`: a client with the new session's token. */
export async function signedInClient(
  verb: 'login' | 'register',
  server: string,
  username: string,
  password: string,
): Promise<MessengerClient> {
  const { MessengerClient, settings } = await clientParts();
  return verb === 'login'
    ? MessengerClient.login(server, username, password, settings)
    : MessengerClient.register(server, username, password, settings);
}

/** `messenger login <name> --server <url>`: what to run when a session has ended. */
export function loginCommand(server: string, username?: string): string {
  return `${INVOCATION} login ${username ? shellWord(username) : '<name>'} --server ${server}`;
}

/** The token for `chosen`: MESSENGER_TOKEN, else the saved login's for that same server. */
function tokenFor(chosen: ChosenServer, env: NodeJS.ProcessEnv): string | undefined {
  if (env.MESSENGER_TOKEN) return env.MESSENGER_TOKEN;
  return chosen.saved?.server === chosen.url ? chosen.saved.token : undefined;
}

/** The messenger over `chosen`, signed in; throws one clear line when it cannot be. */
export async function openServerMessenger(
  chosen: ChosenServer,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ServerMessenger> {
  const token = tokenFor(chosen, env);
  const savedName = chosen.saved?.server === chosen.url ? chosen.saved.user.username : undefined;
  if (!token) {
    throw new CommandFailedError(
      `not logged in to ${chosen.url} (${SERVER_ORIGIN[chosen.source]}): ${loginCommand(chosen.url, savedName)} (or set MESSENGER_TOKEN)`,
    );
  }
  const client = await clientOf(chosen.url, token);
  let me: User;
  try {
    me = (await client.me()).user;
  } catch (error) {
    throw sessionEndedLine(error, chosen.url, env.MESSENGER_TOKEN ? undefined : savedName);
  }
  return new ServerMessenger(client, me);
}

/**
 * A SessionEndedError becomes the line that says how to log in again; any other error is
 * returned as it is.
 */
export function sessionEndedLine(error: unknown, server: string, username?: string): unknown {
  if (!(error instanceof SessionEndedError)) return error;
  return new CommandFailedError(
    `your session at ${server} has ended (expired, logged out or revoked): log in again: ${loginCommand(server, username)}`,
    { cause: error },
  );
}
