/**
 * `messenger serve`: runs the HTTP API (src/server/) on the configured Redis until
 * SIGTERM or SIGINT, then stops accepting, finishes the requests in flight (for a few
 * seconds at most) and closes Redis.
 * @module
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Command } from 'commander';
// Only the options here: the server itself is loaded when serve runs (below).
import {
  RATE_LIMIT_DEFAULTS,
  RATE_LIMIT_FLAGS,
  type RateLimitOptions,
} from '../../server/options.js';
import { type ExtraMessengerOptions, withMessenger } from '../connect.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../handle-error.js';
import { noticeLiveCoverage } from '../what-is-live.js';

type ServeOptions = {
  port: string;
  host: string;
  origin?: string[];
  trustProxy?: string;
  metricsPort?: string;
  jwtKey?: string;
  jwtAudience?: string;
  jwtIssuer?: string;
  jwtCreateUsers?: boolean;
  waitForReplicas?: string;
  replicaTimeoutMs?: string;
  /** False with --no-rate-limits. */
  rateLimits: boolean;
} & Partial<Record<keyof RateLimitOptions, string>>;

type LimitName = keyof RateLimitOptions;
const LIMIT_NAMES = Object.keys(RATE_LIMIT_DEFAULTS) as LimitName[];

/** The rate limits given by flag or environment variable, checked. */
function givenLimits(options: ServeOptions): Partial<RateLimitOptions> {
  const given: Partial<RateLimitOptions> = {};
  for (const name of LIMIT_NAMES) {
    const text = options[name];
    if (text === undefined) continue;
    const value = Number(text);
    const whole = name !== 'sendsPerSecond';
    if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0) || (whole && !Number.isSafeInteger(value)))
      throw new UsageError(
        `--${RATE_LIMIT_FLAGS[name].flag} must be a ${whole ? 'whole ' : ''}number above 0, got ${JSON.stringify(text)}`,
      );
    given[name] = value;
  }
  return given;
}

/** How long requests in flight may take to finish after a stop signal. */
const DRAIN_MS = 5000;

/**
 * Connections the kernel holds for the server before it accepts them (capped by
 * net.core.somaxconn). Node's default, 511, overflowed when 10,000 sockets came back at
 * once after a restart: the kernel dropped the rest of the SYNs and the clients' kernels
 * sent them again only after 1, 3, 7 s and more (docs/performance.md, the storm).
 */
const LISTEN_BACKLOG = 4096;

function port(text: string, flag = '--port'): number {
  const value = Number(text);
  if (!/^\d{1,5}$/.test(text) || value < 0 || value > 65535)
    throw new UsageError(`${flag} must be a port number (0 to 65535), got ${JSON.stringify(text)}`);
  return value;
}

function listOf(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function checkedOrigins(origins: string[]): string[] {
  return origins.map((origin) => {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new UsageError(`--origin must be a URL like https://chat.example.com, got ${origin}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new UsageError(`--origin must start with http:// or https://, got ${origin}`);
    return url.origin;
  });
}

/** What --jwt-key and its companions configure (JwtOptions), or undefined without a key. */
function jwtOptions(options: ServeOptions) {
  if (options.jwtKey === undefined) {
    if (options.jwtAudience || options.jwtIssuer || options.jwtCreateUsers)
      throw new UsageError('the --jwt-* options need --jwt-key <file> (or MESSENGER_JWT_KEY_FILE)');
    return undefined;
  }
  if (!options.jwtAudience)
    throw new UsageError(
      '--jwt-key needs --jwt-audience <aud> (or MESSENGER_JWT_AUDIENCE): the aud every token must carry',
    );
  let key: Buffer;
  try {
    key = readFileSync(options.jwtKey);
  } catch (error) {
    throw new UsageError(
      `cannot read the --jwt-key file ${options.jwtKey}: ${(error as NodeJS.ErrnoException).code}`,
    );
  }
  const text = key.toString('utf8');
  return {
    // A PEM public key as text; a shared secret as its bytes, without a final newline.
    key: text.includes('-----BEGIN') ? text : key.subarray(0, key.length - trailingNewline(key)),
    audience: options.jwtAudience,
    ...(options.jwtIssuer ? { issuer: options.jwtIssuer } : {}),
    createUsers: options.jwtCreateUsers ?? false,
  };
}

function trailingNewline(bytes: Buffer): number {
  if (bytes.at(-1) !== 0x0a) return 0;
  return bytes.at(-2) === 0x0d ? 2 : 1;
}

/**
 * --wait-for-replicas and --replica-timeout-ms, checked: what the messenger's
 * `waitForReplicas` and `replicaTimeoutMs` take (docs/reliability.md measures both ways).
 */
function replicaOptions(options: ServeOptions): ExtraMessengerOptions {
  const extra: ExtraMessengerOptions = {};
  const { waitForReplicas, replicaTimeoutMs } = options;
  if (waitForReplicas !== undefined) {
    if (!/^\d{1,3}$/.test(waitForReplicas))
      throw new UsageError(
        `--wait-for-replicas must be a whole number of replicas (0 or more), got ${JSON.stringify(waitForReplicas)}`,
      );
    extra.waitForReplicas = Number(waitForReplicas);
  }
  if (replicaTimeoutMs !== undefined) {
    if (!/^\d{1,7}$/.test(replicaTimeoutMs) || Number(replicaTimeoutMs) === 0)
      throw new UsageError(
        `--replica-timeout-ms must be a whole number of milliseconds above 0, got ${JSON.stringify(replicaTimeoutMs)}`,
      );
    extra.replicaTimeoutMs = Number(replicaTimeoutMs);
  }
  return extra;
}

/** proxy-addr's names for ranges (Fastify's trustProxy takes them too). */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * The proxies to believe, checked: addresses or CIDR ranges, never every address (that
 * would let any client name its own address in X-Forwarded-For, and so escape every
 * per-address rate limit).
 */
function checkedProxies(proxies: string[]): string[] {
  for (const proxy of proxies) {
    if (PROXY_RANGES.has(proxy)) continue;
    const [address = '', bits, ...rest] = proxy.split('/');
    const family = isIP(address);
    const most = family === 6 ? 128 : 32;
    const valid =
      family !== 0 &&
      rest.length === 0 &&
      (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= most));
    if (!valid)
      throw new UsageError(
        `--trust-proxy takes addresses or CIDR ranges like 10.0.0.0/8, got ${JSON.stringify(proxy)}`,
      );
    if (bits !== undefined && Number(bits) === 0)
      throw new UsageError(
        `--trust-proxy ${proxy} would believe every address, so any client could choose its own address for the rate limits: name your proxies' addresses`,
      );
  }
  return proxies;
}

export function registerServe(program: Command, { output, globals }: CommandContext): void {
  const command = program
    .command('serve')
    .description('run the HTTP API, so that people use the messenger without the Redis password')
    .option(
      '--port <port>',
      'the port to listen on (default: $PORT, else 8080)',
      process.env.PORT ?? '8080',
    )
    .option(
      '--host <host>',
      'the address to listen on (default: $HOST, else 127.0.0.1)',
      process.env.HOST ?? '127.0.0.1',
    )
    .option(
      '--origin <url...>',
      "the origins of the pages that may use it from a browser (default: $MESSENGER_ORIGINS, comma-separated, else the server's own URL)",
    )
    .option(
      '--trust-proxy <addresses>',
      'proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For to believe (default: $TRUST_PROXY, else none)',
      process.env.TRUST_PROXY,
    )
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics at /metrics on this port of --host, apart from the API (default: $METRICS_PORT, else off)',
      process.env.METRICS_PORT,
    )
    .option(
      '--jwt-key <file>',
      'accept JWTs from the app that owns the users, checked with this key: a PEM public key (RS256, EdDSA) or a file holding the HS256 secret (default: $MESSENGER_JWT_KEY_FILE, else off)',
      process.env.MESSENGER_JWT_KEY_FILE,
    )
    .option(
      '--jwt-audience <aud>',
      'the aud claim every JWT must carry (default: $MESSENGER_JWT_AUDIENCE)',
      process.env.MESSENGER_JWT_AUDIENCE,
    )
    .option(
      '--jwt-issuer <iss>',
      'the iss claim every JWT must carry (default: $MESSENGER_JWT_ISSUER, else any)',
      process.env.MESSENGER_JWT_ISSUER,
    )
    .option(
      '--jwt-create-users',
      'create the user a valid JWT names on first sight (default: $MESSENGER_JWT_CREATE_USERS=1, else no)',
      process.env.MESSENGER_JWT_CREATE_USERS === '1',
    )
    .option(
      '--wait-for-replicas <n>',
      'acknowledge a message only once this many replicas have it, so that a failover cannot lose it (default: $MESSENGER_WAIT_FOR_REPLICAS, else 0)',
      process.env.MESSENGER_WAIT_FOR_REPLICAS,
    )
    .option(
      '--replica-timeout-ms <ms>',
      'how long a send waits for those replicas before it answers 503 (stored; sending again with its id is safe) (default: $MESSENGER_REPLICA_TIMEOUT_MS, else 1000)',
      process.env.MESSENGER_REPLICA_TIMEOUT_MS,
    )
    .option('--no-rate-limits', 'turn every rate limit off (benchmarks on a trusted network)');
  for (const name of LIMIT_NAMES) {
    const { flag, env, what } = RATE_LIMIT_FLAGS[name];
    command.option(
      `--${flag} <n>`,
      `rate limit: ${what} (default: $${env}, else ${RATE_LIMIT_DEFAULTS[name]})`,
      process.env[env],
    );
  }
  command
    .addHelpText(
      'after',
      '\nExamples:\n  $ messenger serve\n  $ messenger serve --port 8080 --host 0.0.0.0 --origin https://chat.example.com --trust-proxy 10.0.0.0/8\n  $ messenger serve --metrics-port 9464\n\nMore: docs/server.md',
    )
    .action(async (options: ServeOptions) => {
      const listenPort = port(options.port);
      const given = options.origin ?? listOf(process.env.MESSENGER_ORIGINS);
      const origins = checkedOrigins(given);
      const rateLimits = options.rateLimits ? givenLimits(options) : false;
      const trustProxy = checkedProxies(listOf(options.trustProxy));
      const jwt = jwtOptions(options);
      const replicas = replicaOptions(options);
      if (jwt) {
        // A key that cannot check anything is the operator's to fix before anything starts.
        const { JwtIdentity } = await import('../../server/index.js');
        try {
          new JwtIdentity(jwt);
        } catch (error) {
          throw new UsageError(`--jwt-key ${options.jwtKey}: ${(error as Error).message}`);
        }
      }
      const metricsPort =
        options.metricsPort === undefined ? null : port(options.metricsPort, '--metrics-port');
      return withMessenger(
        globals(),
        output,
        async (messenger, redis) => {
          // It stores accounts and messages: whoever starts it must know into which Redis.
          output.notice(`Using the Redis at ${redis.description}.`);
          const ownUrl = (p: number) =>
            `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${p}`;
          // Loaded here, not at the top: every other command would pay for loading Fastify.
          const { batchedLines, createServer, metricsListener, ServerMetrics } = await import(
            '../../server/index.js'
          );
          // A write system call per line was an eighth of a busy server's profile: the lines of
          // one turn of the event loop go in one write, and none is lost at exit.
          const logLines = batchedLines(process.stderr);
          process.once('exit', logLines.flush);
          const metrics = metricsPort === null ? undefined : new ServerMetrics();
          // With --port 0 the server's own origin is known only once it listens: then no
          // browser origin is allowed unless given (bearer tokens work as ever).
          const server = await createServer({
            messenger,
            origins: origins.length > 0 || listenPort === 0 ? origins : [ownUrl(listenPort)],
            trustProxy,
            rateLimits,
            metrics,
            jwt,
            // One JSON line per request on standard error (pino, Fastify's own), with a
            // request id. Its serializers log the method, URL, status and timing: never a
            // header (so no token or cookie), a body (so no password or text).
            logger: { level: process.env.LOG_LEVEL ?? 'info', stream: logLines },
          });
          try {
            await server.listen({ port: listenPort, host: options.host, backlog: LISTEN_BACKLOG });
          } catch (error) {
            await server.close();
            const code = (error as NodeJS.ErrnoException).code;
            if (code === 'EADDRINUSE')
              throw new Error(
                `port ${listenPort} on ${options.host} is in use: choose another with --port`,
              );
            if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
              throw new Error(`cannot listen on ${options.host}: not an address of this machine`);
            throw error;
          }
          await noticeLiveCoverage(messenger, output);
          const address = server.server.address();
          const actualPort = typeof address === 'object' && address ? address.port : listenPort;
          const scrape = metrics ? metricsListener(metrics) : null;
          if (scrape && metricsPort !== null) {
            try {
              await new Promise<void>((resolve, reject) => {
                scrape.once('error', reject);
                scrape.listen(metricsPort, options.host, resolve);
              });
            } catch (error) {
              await server.close();
              if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE')
                throw new Error(
                  `port ${metricsPort} on ${options.host} is in use: choose another with --metrics-port`,
                );
              throw error;
            }
            const at = scrape.address();
            output.notice(
              `Metrics on ${ownUrl(typeof at === 'object' && at ? at.port : metricsPort)}/metrics`,
            );
          }
          // Off is for benchmarks on a trusted network: never silently.
          const limits = rateLimits === false ? ' (rate limits off)' : '';
          output.line(`messenger serving on ${ownUrl(actualPort)}${limits}`);
          await new Promise<void>((resolve) => {
            const stop = () => {
              process.off('SIGTERM', stop);
              process.off('SIGINT', stop);
              resolve();
            };
            process.on('SIGTERM', stop);
            process.on('SIGINT', stop);
          });
          output.notice('stopping: finishing requests in flight');
          const late = setTimeout(() => server.server.closeAllConnections(), DRAIN_MS);
          await server.close();
          if (scrape) await new Promise((resolve) => scrape.close(resolve));
          clearTimeout(late);
          logLines.flush();
        },
        replicas,
      );
    });
}
