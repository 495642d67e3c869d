/**
 * People on the command line are named by username or by id; this turns either into a
 * User, and ids back into names for printing.
 * @module
 */
import { isId, type User, UserNotFoundError, UsernameNotFoundError } from '../index.js';
import type { Messenger } from './messenger.js';

/** What finding people takes: on Redis or through a server alike. */
type Directory = Pick<Messenger, 'getUser' | 'findUserByUsername'>;

/** The user with this id (if it looks like one) or this username; throws if neither. */
export async function resolveUser(messenger: Directory, nameOrId: string): Promise<User> {
  if (isId(nameOrId, true)) {
    const user = await messenger.getUser(nameOrId);
    if (user) return user;
    // A username may look like a UUID too; fall through to the name.
    const named = await messenger.findUserByUsername(nameOrId).catch(() => null);
    if (named) return named;
    throw new UserNotFoundError(nameOrId.toLowerCase());
  }
  const user = await messenger.findUserByUsername(nameOrId);
  if (!user) throw new UsernameNotFoundError(nameOrId);
  return user;
}

/** Usernames for ids, read once each and remembered. */
export class NameBook {
  readonly #messenger: Directory;
  readonly #names = new Map<string, string>();

  constructor(messenger: Directory, known: User[] = []) {
    this.#messenger = messenger;
    for (const user of known) this.#names.set(user.id, user.username);
  }

  remember(user: User): void {
    this.#names.set(user.id, user.username);
  }

  /**
   * Looks up every id not known yet, all at once. An id that is not a UUID names no user
   * we could look up (the original chat.py stores whatever was typed at its login prompt
   * as a sender id): it is shown as stored, and must not fail the page it is on.
   */
  async learn(ids: Iterable<string>): Promise<void> {
    const unknown = [...new Set(ids)].filter((id) => !this.#names.has(id) && isId(id, true));
    const users = await Promise.all(unknown.map((id) => this.#messenger.getUser(id)));
    for (const user of users) if (user) this.remember(user);
  }

  /** The username, or the id itself (as stored) for a user that no longer exists or never did. */
  name(id: string): string {
    return this.#names.get(id) ?? id;
  }
}
