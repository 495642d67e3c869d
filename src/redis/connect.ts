/**
 * Turning connection options into a connected node-redis client: URL parsing (including
 * unix:// for the embedded server), timeouts, and a reconnect policy that fails fast on
 * the first connection but keeps trying once a connection has worked.
 * @module
 */
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  createCluster,
  DisconnectsClientError,
  ErrorReply,
  ReconnectStrategyError,
  type RedisClientType,
  type RedisClusterType,
  RootNodesUnavailableError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
} from 'redis';
import {
  MessengerError,
  RedisRefusedError,
  RedisUnavailableError,
  ValidationError,
} from '../errors.js';
import { withDeadline } from './deadline.js';
import { watchClusterLiveness, watchLiveness } from './liveness.js';

export type RedisClient = RedisClientType;
export type RedisCluster = RedisClusterType;
/** A connection to one Redis server or to a Redis Cluster: the typed commands are the same. */
export type RedisConnection = RedisClient | RedisCluster;

/** Where Redis is when nothing says otherwise. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface ConnectionOptions {
  /** redis://, rediss:// (TLS) or unix:///path/to/socket. */
  url: string;
  /** How long the first connection (socket and handshake) may take before `connect` fails. */
  connectTimeoutMs: number;
  /** Called with errors the client reports while it reconnects on its own. */
  onError?: (error: Error) => void;
  /**
   * Whether a connection that stops answering while it stays open is replaced (a new
   * socket for the same client; ./liveness.ts). A subscriber's connections are watched by
   * the subscriber instead, since it must subscribe again on the new socket.
   * @defaultValue true
   */
  watch?: boolean;
}

/** Whether a connection is to a Redis Cluster. */
export function isCluster(connection: RedisConnection): connection is RedisCluster {
  return 'getSlotMaster' in connection;
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

/** The parts of a URL node-redis needs as separate options, checked. */
function parseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(
      // Not echoed: a malformed URL may still hold a password.
      'the Redis URL is not a valid URL; expected redis://host:port (or rediss://, unix://)',
    );
  }
  if (
    parsed.protocol !== 'redis:' &&
    parsed.protocol !== 'rediss:' &&
    parsed.protocol !== 'unix:'
  ) {
    throw new ValidationError(
      `the Redis URL must start with redis://, rediss:// or unix://, got ${parsed.protocol}//`,
    );
  }
  return parsed;
}

function clientOptions(url: string) {
  const parsed = parseUrl(url);
  if (parsed.protocol === 'unix:') return { socket: { path: decodeURIComponent(parsed.pathname) } };
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
        connectedOnce ? reconnectDelay(retries) : firstConnectionError(target, cause),
    },
    // While the connection is down, commands fail at once instead of waiting in a queue:
    // a command the caller was told had failed must never run later, behind its back.
    disableOfflineQueue: true,
    // node-redis's own per-command timeout (5 s by default) costs an AbortSignal and two
    // listeners per command, a tenth of a send's CPU; the messenger keeps one deadline per
    // operation instead (RedisCalls.run).
    commandOptions: { timeout: 0 },
  });
  // Without a listener an 'error' event would crash the process.
  client.on('error', (error: Error) => options.onError?.(error));
  client.on('ready', () => {
    connectedOnce = true;
  });
  // `connectTimeout` covers the socket only: a server that accepts and never answers
  // (paused, or not Redis at all) would hold the handshake forever.
  try {
    await withDeadline(
      client.connect(),
      options.connectTimeoutMs,
      () => new RedisUnavailableError(target, { cause: new Error('no answer to the handshake') }),
    );
  } catch (cause) {
    if (client.isOpen) client.destroy();
    // node-redis wraps what reconnectStrategy returned; that is the error to report.
    const reported = cause instanceof ReconnectStrategyError ? cause.originalError : cause;
    if (reported instanceof MessengerError) throw reported;
    throw new RedisUnavailableError(target, { cause });
  }
  if (options.watch !== false) {
    watchLiveness(client, {
      stuck: () => {
        options.onError?.(new Error(`Redis at ${target} stopped answering: connecting again`));
        // Commands waiting on the silent socket fail now (as unavailable), and the client
        // connects again at once: connect() reopens it before anything else can run.
        client.destroy();
        client.connect().catch(() => {});
      },
    });
  }
  return client;
}

/**
 * Why a first connection failed: Redis answered the handshake with an error (a wrong or
 * missing password, a database it does not have, its connection limit), or it could not
 * be reached at all. The two need different fixes, so they are different errors.
 */
function firstConnectionError(target: string, cause: Error): MessengerError {
  if (cause instanceof ErrorReply && !isTemporaryReply(cause)) {
    return new RedisRefusedError(target, cause.message, { cause });
  }
  return new RedisUnavailableError(target, { cause });
}

/**
 * Whether an error reply means a passing state rather than a refusal: loading its data
 * after a restart, a busy script, a replica without its primary, a cluster resharding.
 */
export function isTemporaryReply(error: ErrorReply): boolean {
  return /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/.test(error.message);
}

export interface ClusterConnectionOptions {
  /** redis:// or rediss:// URLs of some of the cluster's nodes; the rest are discovered. */
  urls: string[];
  /** How long discovering the cluster and connecting to its masters may take. */
  connectTimeoutMs: number;
  /** Called with errors the nodes' clients report while they reconnect on their own. */
  onError?: (error: Error) => void;
}

/** The URLs as one line fit for an error message: passwords replaced. */
export function describeCluster(urls: readonly string[]): string {
  return `${urls.map(redactUrl).join(', ')} (a Redis Cluster)`;
}

/**
 * Connects to a Redis Cluster: discovers its slots from the first node that answers,
 * connects to every master, and resolves once all are ready, or rejects with
 * RedisUnavailableError. Credentials and TLS come from the first URL and apply to every node.
 */
export async function openCluster(options: ClusterConnectionOptions): Promise<RedisCluster> {
  if (options.urls.length === 0)
    throw new ValidationError('a Redis Cluster needs at least one node URL');
  const parsed = options.urls.map(parseUrl);
  if (parsed.some((url) => url.protocol === 'unix:')) {
    throw new ValidationError(
      'Redis Cluster nodes are reached over TCP: use redis:// or rediss:// URLs',
    );
  }
  const first = parsed[0] as URL;
  const target = describeCluster(options.urls);
  const cluster = createCluster({
    rootNodes: options.urls.map((url) => ({ url })),
    defaults: {
      username: first.username ? decodeURIComponent(first.username) : undefined,
      password: first.password ? decodeURIComponent(first.password) : undefined,
      socket: {
        tls: first.protocol === 'rediss:',
        connectTimeout: options.connectTimeoutMs,
        // A node that drops is retried until the cluster re-reads its slots (below) and
        // drops the node if a replica took its place.
        reconnectStrategy: reconnectDelay,
      } as never,
      // The same reasons as for one server (openClient). The connection to each master
      // also carries the commands sent on it directly (./slot-router.ts), with these.
      disableOfflineQueue: true,
      // Passed on to every node's client (the type leaves it out).
      ...({ commandOptions: { timeout: 0 } } as object),
    },
    commandOptions: { timeout: 0 },
    // After a master dies, its slots are served by a promoted replica within a few
    // seconds; a dead node sends no MOVED reply, so the client must re-read the slot map
    // itself. The default waits 5 s of failed reconnects before it does.
    topologyRefreshOnReconnectionAttemptStrategy: 500,
  });
  // What the root nodes answered, to tell "not a cluster" and "refused" from "not there".
  let notACluster = false;
  let refusal: ErrorReply | undefined;
  const heard = (error: Error) => {
    if (/cluster support disabled/i.test(error.message)) notACluster = true;
    else if (error instanceof ErrorReply && !isTemporaryReply(error)) refusal = error;
  };
  cluster.on('error', (error: Error) => {
    heard(error);
    options.onError?.(error);
  });
  cluster.on('node-error', (error: Error) => options.onError?.(error));
  try {
    await withDeadline(
      cluster.connect(),
      options.connectTimeoutMs,
      () => new RedisUnavailableError(target, { cause: new Error('no answer in time') }),
    );
  } catch (cause) {
    cluster.destroy();
    if (notACluster) {
      throw new ValidationError(
        `${options.urls.map(redactUrl).join(', ')}: a Redis without cluster support, not a cluster node; connect to it as one Redis (url; the CLI's --redis)`,
        { cause },
      );
    }
    if (refusal) throw new RedisRefusedError(target, refusal.message, { cause: refusal });
    if (cause instanceof RedisUnavailableError) throw cause;
    throw new RedisUnavailableError(target, { cause });
  }
  // Its connection to each master is watched as one client's is (openClient).
  watchClusterLiveness(cluster, (node) => {
    options.onError?.(new Error(`a node of ${target} stopped answering: connecting again`));
    node.destroy();
    node.connect().catch(() => {});
  });
  return cluster as unknown as RedisCluster;
}

/**
 * Redis Cluster nodes written as `host:port` or as redis:// (rediss://) URLs, separated
 * by commas (as REDIS_CLUSTER and the CLI's --cluster take them): their URLs.
 */
export function parseClusterNodes(text: string): string[] {
  const nodes = text
    .split(',')
    .map((node) => node.trim())
    .filter((node) => node !== '');
  if (nodes.length === 0) {
    throw new ValidationError('expected host:port of at least one Redis Cluster node');
  }
  return nodes.map((node) => {
    if (/^rediss?:\/\//.test(node)) return node;
    const match = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(node);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      // Not echoed: a malformed URL may hold a password.
      throw new ValidationError(
        'expected Redis Cluster nodes as host:port (or redis://host:port), separated by commas',
      );
    }
    return `redis://${node}`;
  });
}

/** The URL of a node the cluster named by host and port, with the credentials of `like`. */
export function nodeUrl(like: string, host: string, port: number): string {
  const url = new URL(like);
  // An IPv6 address goes in brackets; without them the URL would keep its old host.
  url.hostname = host.includes(':') ? `[${host}]` : host;
  url.port = String(port);
  return url.toString();
}

/**
 * Closes a client gracefully (waiting for replies still due) when Redis answers, and
 * drops the socket when it does not: a graceful close would wait for a reply that a
 * down or paused Redis never sends.
 */
export async function closeClient(client: RedisConnection, graceMs = 1000): Promise<void> {
  if (!client.isOpen) return;
  if (!client.isReady) {
    client.destroy();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), graceMs);
  });
  try {
    if ((await Promise.race([client.close(), late])) === 'late') client.destroy();
  } catch {
    if (client.isOpen) client.destroy();
  } finally {
    clearTimeout(timer);
  }
}

const CONNECTION_ERRORS = [
  ClientOfflineError,
  RootNodesUnavailableError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ErrorReply,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
];

/** Whether an error means the connection to Redis failed (not a bug, not a Redis reply). */
export function isConnectionError(error: unknown): boolean {
  if (CONNECTION_ERRORS.some((type) => error instanceof type)) return true;
  // Errors from the socket itself: ECONNREFUSED, ECONNRESET, EPIPE, ENOENT (a unix socket)...
  return (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    error.code.startsWith('E')
  );
}

/** Whether an error means the client was closed on purpose. */
export function isClosedError(error: unknown): boolean {
  return error instanceof ClientClosedError;
}
