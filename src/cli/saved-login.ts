/**
 * The login `messenger login` keeps: the server's address, the session token and who it
 * signs in, in `$XDG_CONFIG_HOME/redis-messenger/session.json` (else
 * `~/.config/redis-messenger/`). The token is as good as the password until the session
 * ends, so the file is the user's alone (0600, in a 0700 folder) and is replaced in one
 * step (a rename), never left half-written for another command to read.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export interface SavedLogin {
  /** The server's address, as `normalServer` gives it. */
  server: string;
  token: string;
  user: { id: string; username: string };
}

/** The folder: `$XDG_CONFIG_HOME/redis-messenger`, else `~/.config/redis-messenger`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG spec says a relative XDG_CONFIG_HOME is to be ignored.
  const base =
    env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME)
      ? env.XDG_CONFIG_HOME
      : join(homedir(), '.config');
  return join(base, 'redis-messenger');
}

export function loginFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'session.json');
}

/** The saved login, or null when there is none (or it cannot be read as one). */
export async function readLogin(env: NodeJS.ProcessEnv = process.env): Promise<SavedLogin | null> {
  let text: string;
  try {
    text = await readFile(loginFile(env), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const saved = JSON.parse(text) as Partial<SavedLogin>;
    if (
      typeof saved.server === 'string' &&
      typeof saved.token === 'string' &&
      typeof saved.user?.id === 'string' &&
      typeof saved.user.username === 'string'
    ) {
      return { server: saved.server, token: saved.token, user: saved.user };
    }
  } catch {
    // not ours, or damaged: as if nobody had logged in (a new login replaces it)
  }
  return null;
}

/** Saves the login: a new file, written whole and synced, then renamed over the old one. */
export async function saveLogin(
  login: SavedLogin,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing folder as it was: it is ours, and only its user may list it.
  await chmod(dir, 0o700);
  const file = loginFile(env);
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(login, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return file;
}

/** Forgets the saved login; false if there was none. */
export async function forgetLogin(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const file = loginFile(env);
  try {
    await rm(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
