/**
 * `messenger login`, `register`, `logout` and `whoami`: a person's session on a server,
 * kept in the config folder (saved-login.ts) for the commands after it.
 * @module
 */
import type { Command } from 'commander';
import type { MessengerClient } from '../../client/index.js';
import { ServerRefusedError, SessionEndedError } from '../../index.js';
import {
  chooseServer,
  clientOf,
  loginCommand,
  openServerMessenger,
  SERVER_ORIGIN,
  signedInClient,
} from '../connect-server.js';
import type { CommandContext } from '../context.js';
import { type GlobalOptions, INVOCATION } from '../globals.js';
import { CommandFailedError, UsageError } from '../handle-error.js';
import { printable } from '../output.js';
import { printJson, userJson } from '../present.js';
import { readPassword } from '../read-password.js';
import { forgetLogin, readLogin, saveLogin } from '../saved-login.js';

/** The server to log in to: --server, else MESSENGER_SERVER, else the last one logged in to. */
async function serverToLogIn(options: GlobalOptions, verb: string): Promise<string> {
  if (options.redis !== undefined || options.cluster !== undefined) {
    throw new UsageError(
      `${verb} is for a messenger server: give --server <url> (on Redis, an operator uses ${INVOCATION} user create and user set-password)`,
    );
  }
  const chosen = await chooseServer(options);
  if (chosen) return chosen.url;
  throw new UsageError(
    `which server? ${INVOCATION} ${verb} <username> --server https://chat.example.com (or set MESSENGER_SERVER)`,
  );
}

/** Signs in (login or register), keeps the session, and says where. */
async function signIn(
  context: CommandContext,
  verb: 'login' | 'register',
  username: string,
  fromStdin: boolean,
): Promise<void> {
  const { output, input, globals } = context;
  const server = await serverToLogIn(globals(), verb);
  const password = await readPassword(input, output, fromStdin, {
    ...(verb === 'login'
      ? { question: `Password of ${printable(username)} at ${server} (not shown):` }
      : {}),
  });
  let client: MessengerClient;
  try {
    client = await signedInClient(verb, server, username, password);
  } catch (error) {
    if (error instanceof ServerRefusedError && error.code === 'wrong_credentials') {
      throw new CommandFailedError(
        `wrong username or password for ${server} (a user created without a password logs in once an operator sets one: ${INVOCATION} user set-password <name>)`,
        { cause: error },
      );
    }
    throw error;
  }
  const { user } = await client.me();
  const previous = await readLogin();
  const file = await saveLogin({
    server,
    token: client.token as string,
    user: { id: user.id, username: user.username },
  });
  // The session this one replaces would stay valid on the server for weeks: end it.
  if (previous && previous.server === server && previous.token !== client.token) {
    await (await clientOf(server, previous.token)).logout().catch(() => {});
  }
  const done = verb === 'login' ? 'logged in to' : 'registered and logged in to';
  output.line(`${done} ${server} as ${printable(user.username)} (the session is kept in ${file})`);
}

export function registerAccount(program: Command, context: CommandContext): void {
  const { output, globals } = context;
  for (const [verb, description, example] of [
    [
      'login',
      'log in to a messenger server; later commands go through it as this user',
      '\nExamples:\n  $ messenger login alice --server https://chat.example.com\n  $ printf %s "$PASSWORD" | messenger login alice --server https://chat.example.com --password-stdin',
    ],
    [
      'register',
      'sign up on a messenger server (the password asked twice) and log in',
      '\nExample:\n  $ messenger register alice --server https://chat.example.com',
    ],
  ] as const) {
    program
      .command(`${verb} <username>`)
      .description(description)
      .option('--password-stdin', 'read the password from standard input (for scripts)')
      .addHelpText('after', example)
      .action((username: string, options: { passwordStdin?: boolean }) =>
        signIn(context, verb, username, Boolean(options.passwordStdin)),
      );
  }

  program
    .command('logout')
    .description('end the session on the server, and forget it here')
    .addHelpText('after', '\nExample:\n  $ messenger logout')
    .action(async () => {
      const chosen = await serverToLogOut(globals());
      const saved = chosen?.saved?.server === chosen?.url ? chosen?.saved : null;
      const token = process.env.MESSENGER_TOKEN ?? saved?.token;
      if (!chosen || !token) {
        output.line('not logged in');
        return;
      }
      try {
        await (await clientOf(chosen.url, token)).logout();
      } catch (error) {
        // Ended already (expired, revoked): there is nothing left to end.
        if (!(error instanceof SessionEndedError)) throw error;
      }
      if (process.env.MESSENGER_TOKEN) {
        output.line(`logged out of ${chosen.url} (the session in MESSENGER_TOKEN has ended)`);
        return;
      }
      await forgetLogin();
      output.line(`logged out of ${chosen.url}`);
    });

  program
    .command('whoami')
    .description('the user you are logged in as, and the server')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  $ messenger whoami')
    .action(async (options: { json?: boolean }) => {
      const chosen = await serverToLogOut(globals());
      if (!chosen) {
        throw new CommandFailedError(`not logged in: ${loginCommand('<url>')}`);
      }
      const { me } = await openServerMessenger(chosen);
      if (options.json) {
        printJson(output, { user: userJson(me), server: chosen.url });
        return;
      }
      output.line(
        `${printable(me.username)} ${output.colors.dim(me.id)} at ${chosen.url} (${SERVER_ORIGIN[chosen.source]})`,
      );
    });
}

/** The server logout and whoami speak of; on Redis they have no meaning. */
async function serverToLogOut(options: GlobalOptions) {
  if (options.redis !== undefined || options.cluster !== undefined) {
    throw new UsageError(
      'logout and whoami are for a messenger server, not Redis (--server <url>)',
    );
  }
  return chooseServer(options);
}
