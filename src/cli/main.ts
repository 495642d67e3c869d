/**
 * The `messenger` command: builds the commander program, runs one command, and returns
 * the exit code (0 success, 1 failure, 2 usage error) instead of exiting, so that every
 * command's connections are closed before the process ends.
 * @module
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerAccount } from './commands/account.js';
import { registerChat } from './commands/chat.js';
import { registerContacts } from './commands/contacts.js';
import { registerDemo } from './commands/demo.js';
import { registerReading } from './commands/inbox.js';
import { registerLocalRedis } from './commands/local-redis.js';
import { registerMigrate } from './commands/migrate.js';
import { registerReindex } from './commands/reindex.js';
import { registerSeen } from './commands/seen.js';
import { registerSend } from './commands/send.js';
import { registerServe } from './commands/serve.js';
import { registerUser } from './commands/user.js';
import type { GlobalOptions } from './connect.js';
import type { CommandContext } from './context.js';
import { EXIT_OK, EXIT_USAGE, handleError } from './handle-error.js';
import { parseClusterOption, parseNamespace, parseServer } from './options.js';
import { createOutput, type Output } from './output.js';
import type { Input } from './read-password.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** docs/cli.md as installed beside the code (the package ships it), for --help to point at. */
const CLI_DOCS = fileURLToPath(new URL('../../docs/cli.md', import.meta.url));

export async function main(
  argv: string[],
  output: Output = createOutput(),
  input: Input = process.stdin,
): Promise<number> {
  const program = new Command('messenger')
    .description('A messenger whose datastore is Redis.')
    .option(
      '--redis <url>',
      'Redis to use: redis://, rediss:// or unix:// (default: $REDIS_URL, else 127.0.0.1:6379, else a local server of its own)',
    )
    .option(
      '--cluster <nodes>',
      'a Redis Cluster to use instead: host:port of some of its nodes, comma-separated (default: $REDIS_CLUSTER)',
      parseClusterOption,
    )
    .option(
      '--server <url>',
      'a messenger server to go through instead of Redis, as the user you logged in as (default: $MESSENGER_SERVER, else the server of `messenger login`)',
      parseServer,
    )
    .option(
      '--namespace <name>',
      "prefix of every key, as the library's namespace option (default: none, the original program's key names)",
      parseNamespace,
    )
    .option('--verbose', 'print stack traces with errors')
    .addHelpText(
      'after',
      `\nExamples, on Redis (operators):\n  $ messenger send alice bob "Hello, Bob!" --redis redis://127.0.0.1:6379\n\nThrough a server (anyone with an account):\n  $ messenger login alice --server https://chat.example.com\n  $ messenger send alice bob "Hello, Bob!"\n  $ messenger chat alice\n\nWhich one: --server, else --redis/--cluster, else $MESSENGER_SERVER, else the saved login, else Redis.\nMore: ${CLI_DOCS}`,
    )
    .version(VERSION, '--version', 'print the version')
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (text) => output.line(text.trimEnd()),
      writeErr: (text) => output.notice(text.trimEnd()),
      // One line, as every other error: commander's own message, and where to look.
      outputError: (text, write) => write(`${text.trimEnd().replaceAll('\n', ' ')} (see --help)\n`),
    });
  let command: string | undefined;
  program.hook('preAction', (_program, action) => {
    const names: string[] = [];
    for (let at: Command | null = action; at && at !== program; at = at.parent) {
      names.unshift(at.name());
    }
    command = names.join(' ');
  });
  const context: CommandContext = {
    output,
    input,
    globals: () => ({ ...program.opts<GlobalOptions>(), ...(command ? { command } : {}) }),
  };
  registerAccount(program, context);
  registerUser(program, context);
  registerSend(program, context);
  registerReading(program, context);
  registerContacts(program, context);
  registerSeen(program, context);
  registerChat(program, context);
  registerDemo(program, context);
  registerReindex(program, context);
  registerMigrate(program, context);
  registerLocalRedis(program, context);
  registerServe(program, context);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    return handleError(error, output, Boolean(context.globals().verbose));
  }
}
