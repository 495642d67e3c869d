/**
 * `messenger serve`: runs the HTTP API (src/server/) on the configured Redis until
 * SIGTERM or SIGINT, then stops accepting, finishes the requests in flight (for a few
 * seconds at most) and closes Redis.
 * @module
 */
import type { Command } from 'commander';
// Only the options here: the server itself is loaded when serve runs (below).
import {
  RATE_LIMIT_DEFAULTS,
  RATE_LIMIT_FLAGS,
  type RateLimitOptions,
} from '../../server/options.js';
import { withMessenger } from '../connect.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../handle-error.js';
import { noticeLiveCoverage } from '../what-is-live.js';

type ServeOptions = {
  port: string;
  host: string;
  origin?: string[];
  trustProxy?: string;
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

function port(text: string): number {
  const value = Number(text);
  if (!/^\d{1,5}$/.test(text) || value < 0 || value > 65535)
    throw new UsageError(`--port must be a port number (0 to 65535), got ${JSON.stringify(text)}`);
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
      '\nExamples:\n  $ messenger serve\n  $ messenger serve --port 8080 --host 0.0.0.0 --origin https://chat.example.com --trust-proxy 10.0.0.0/8\n\nMore: docs/server.md',
    )
    .action((options: ServeOptions) => {
      const listenPort = port(options.port);
      const given = options.origin ?? listOf(process.env.MESSENGER_ORIGINS);
      const origins = checkedOrigins(given);
      const rateLimits = options.rateLimits ? givenLimits(options) : false;
      return withMessenger(globals(), output, async (messenger, redis) => {
        // It stores accounts and messages: whoever starts it must know into which Redis.
        output.notice(`Using the Redis at ${redis.description}.`);
        const ownUrl = (p: number) =>
          `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${p}`;
        // Loaded here, not at the top: every other command would pay for loading Fastify.
        const { createServer } = await import('../../server/index.js');
        // With --port 0 the server's own origin is known only once it listens: then no
        // browser origin is allowed unless given (bearer tokens work as ever).
        const server = await createServer({
          messenger,
          origins: origins.length > 0 || listenPort === 0 ? origins : [ownUrl(listenPort)],
          trustProxy: listOf(options.trustProxy),
          rateLimits,
          // One JSON line per request on standard error (pino, Fastify's own), with a
          // request id. Its serializers log the method, URL, status and timing: never a
          // header (so no token or cookie), a body (so no password or text).
          logger: { level: process.env.LOG_LEVEL ?? 'info', stream: process.stderr },
        });
        try {
          await server.listen({ port: listenPort, host: options.host });
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
        clearTimeout(late);
      });
    });
}
