/**
 * Opening a messenger for a CLI command. Which Redis: --redis or --cluster, then
 * REDIS_CLUSTER, then REDIS_URL, then a Redis on 127.0.0.1:6379, then the embedded
 * local server. A failure to connect says where the URL came from, since that is where
 * the person has to fix it.
 * @module
 */
import {
  describeCluster,
  type MessengerOptions,
  type MigrationProgress,
  type MigrationReport,
  namedTarget,
  RedisMessenger,
  RedisRefusedError,
  RedisUnavailableError,
  type ResolvedRedis,
  redactUrl,
  resolveRedis,
  type Target,
  type User,
  ValidationError,
} from '../index.js';
import {
  chooseServer,
  openServerMessenger,
  refuseServer,
  sessionEndedLine,
} from './connect-server.js';
import { type GlobalOptions, INVOCATION } from './globals.js';
import { CommandFailedError, UsageError } from './handle-error.js';
import type { Messenger } from './messenger.js';
import type { Output } from './output.js';

export type { GlobalOptions } from './globals.js';
export { INVOCATION } from './globals.js';

/** Which Redis a command uses, in words, and where that choice came from. */
export interface ChosenRedis {
  /** E.g. `redis://127.0.0.1:6379 (it answered there; --redis <url> or REDIS_URL chooses another)`. */
  description: string;
}

type Source = ResolvedRedis['source'] | '--cluster' | 'REDIS_CLUSTER';

/** Where a URL came from, as the tail of a message about it. */
const ORIGIN: Record<Source, string> = {
  given: 'given with --redis',
  REDIS_URL: 'the URL is the one in REDIS_URL; --redis <url> uses another',
  running: 'it answered on 127.0.0.1:6379; --redis <url> or REDIS_URL chooses another',
  local: `the local redis-server of redis-messenger; ${INVOCATION} local-redis status says more`,
  '--cluster': 'given with --cluster',
  REDIS_CLUSTER: 'the nodes in REDIS_CLUSTER; --cluster <nodes> uses others',
};

/** The same, where connecting failed: what came from the command line is to be checked. */
const ORIGIN_OF_FAILURE: Record<Source, string> = {
  ...ORIGIN,
  given: 'check the URL given with --redis',
  '--cluster': 'check the nodes given with --cluster',
};

/** The Redis the options or the environment name (the library's rule: namedTarget), or null. */
function named(options: GlobalOptions): { target: Target; source: Source } | null {
  if (options.redis !== undefined && options.cluster !== undefined) {
    throw new UsageError('give --redis (one Redis) or --cluster (a Redis Cluster), not both');
  }
  let chosen: ReturnType<typeof namedTarget>;
  try {
    chosen = namedTarget({ url: options.redis, cluster: options.cluster });
  } catch (error) {
    // Only REDIS_CLUSTER is parsed here (--cluster was parsed with the flags).
    if (error instanceof ValidationError) throw new UsageError(`REDIS_CLUSTER: ${error.message}`);
    throw error;
  }
  if (!chosen) return null;
  const given = chosen.source === 'given';
  const source: Source =
    chosen.target.kind === 'cluster'
      ? given
        ? '--cluster'
        : 'REDIS_CLUSTER'
      : given
        ? 'given'
        : 'REDIS_URL';
  return { target: chosen.target, source };
}

/** What a command may set beyond where Redis is (serve: --wait-for-replicas). */
export type ExtraMessengerOptions = Pick<MessengerOptions, 'waitForReplicas' | 'replicaTimeoutMs'>;

async function openMessenger(
  options: GlobalOptions,
  output: Output,
  extra: ExtraMessengerOptions,
): Promise<[RedisMessenger, ChosenRedis]> {
  const { namespace } = options;
  let chosen = named(options);
  if (!chosen) {
    // Nothing names one: a Redis answering on 127.0.0.1:6379, else our own local server.
    const found = await resolveRedis({
      env: {},
      onStarted: (message) => output.notice(message),
      stopCommand: `${INVOCATION} local-redis stop`,
    });
    chosen = { target: { kind: 'standalone', url: found.url }, source: found.source };
  }
  const { target: where, source } = chosen;
  const target = where.kind === 'cluster' ? describeCluster(where.urls) : redactUrl(where.url);
  const connect = () =>
    RedisMessenger.connect(
      where.kind === 'cluster'
        ? { cluster: where.urls, namespace, ...extra }
        : { url: where.url, namespace, ...extra },
    );
  try {
    return [await connect(), { description: `${target} (${ORIGIN[source]})` }];
  } catch (error) {
    // A bad URL from the environment is a usage error too, but the person must be told
    // which variable holds it: nothing on the command line shows it.
    if (error instanceof ValidationError && source === 'REDIS_URL') {
      throw new UsageError(`REDIS_URL: ${error.message}`);
    }
    if (error instanceof RedisUnavailableError || error instanceof RedisRefusedError) {
      throw new CommandFailedError(`${error.message} (${ORIGIN_OF_FAILURE[source]})`, {
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * `messenger migrate`: the Redis Cluster the options or the environment name, moved to
 * this version's key layout (RedisMessenger.migrateClusterLayout). Only a cluster: one
 * Redis has one layout.
 */
export async function migrateNamedCluster(
  options: GlobalOptions,
  onProgress: (progress: MigrationProgress) => void,
): Promise<MigrationReport> {
  refuseServer(options);
  const chosen = named(options);
  if (chosen?.target.kind !== 'cluster') {
    throw new UsageError(
      "migrate moves a Redis Cluster's keys to this version's layout: give --cluster <nodes> or set REDIS_CLUSTER (one Redis keeps the original program's layout: nothing to move)",
    );
  }
  const { target, source } = chosen;
  try {
    return await RedisMessenger.migrateClusterLayout(
      { cluster: target.urls, namespace: options.namespace },
      { onProgress },
    );
  } catch (error) {
    if (error instanceof RedisUnavailableError || error instanceof RedisRefusedError) {
      throw new CommandFailedError(`${error.message} (${ORIGIN_OF_FAILURE[source]})`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** Runs `work` with a messenger, and closes it however `work` ends. */
export async function withMessenger<T>(
  options: GlobalOptions,
  output: Output,
  work: (messenger: RedisMessenger, redis: ChosenRedis) => Promise<T>,
  extra: ExtraMessengerOptions = {},
): Promise<T> {
  refuseServer(options);
  const [messenger, redis] = await openMessenger(options, output, extra);
  try {
    return await work(messenger, redis);
  } finally {
    await messenger.close();
  }
}

/** How a person's command reached the messenger. */
export interface Connection {
  /** `Redis` or `the server`, for messages such as "Lost the connection to Redis". */
  label: string;
  /** Through a server: the signed-in user, the only one its commands act as. */
  me?: User;
  /** On Redis: the messenger itself, for what only an operator may do (chat --create). */
  redis?: RedisMessenger;
  /** Throws a usage error unless a command may act as this user (through a server: only as `me`). */
  actAs(userId: string): void;
}

/**
 * Runs a person's command (send, inbox, chat, ...) with a messenger: through a server when
 * one is chosen (chooseServer: --server, MESSENGER_SERVER or a saved login), else on Redis.
 * The command is the same code either way.
 */
export async function withPersonMessenger<T>(
  options: GlobalOptions,
  output: Output,
  work: (messenger: Messenger, connection: Connection) => Promise<T>,
): Promise<T> {
  const server = await chooseServer(options);
  if (!server) {
    return withMessenger(options, output, (redis) =>
      work(redis, { label: 'Redis', redis, actAs: () => {} }),
    );
  }
  const messenger = await openServerMessenger(server);
  try {
    return await work(messenger, {
      label: 'the server',
      me: messenger.me,
      actAs: (userId) => messenger.actAs(userId),
    });
  } catch (error) {
    throw sessionEndedLine(error, server.url, messenger.me.username);
  }
}

/**
 * ` --server <url>`, ` --redis <url>` or ` --cluster <nodes>` (and ` --namespace <ns>`) to repeat in a
 * suggested command when one was given, with any password left out (the person who typed
 * it knows it; a log of the hint should not).
 */
export function redisFlag(options: GlobalOptions): string {
  if (options.server) return ` --server ${options.server}`;
  const namespace = options.namespace ? ` --namespace ${options.namespace}` : '';
  if (options.cluster) {
    return ` --cluster ${options.cluster.map(redactUrl).join(',')}${namespace}`;
  }
  return `${options.redis ? ` --redis ${redactUrl(options.redis)}` : ''}${namespace}`;
}
