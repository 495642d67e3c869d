/**
 * Password hashing: Argon2id with OWASP's parameters (m = 19456 KiB, t = 2, p = 1: the
 * defaults of @node-rs/argon2), at most a few hashes at once so that a burst of logins
 * cannot take more than that many times 19 MiB, and a check against a dummy hash for
 * unknown names so that a login takes as long whether or not the name exists.
 * @module
 */
import { hash, verify } from '@node-rs/argon2';
import { HttpError } from '../errors.js';

/** NIST SP 800-63B, single factor: at least 15 characters; at most 256, against long-password floods. */
export const PASSWORD_MIN = 15;
export const PASSWORD_MAX = 256;

/** What a PHC string of the current parameters starts with: an older one is re-hashed at login. */
const CURRENT = '$argon2id$v=19$m=19456,t=2,p=1$';

/** How many hashes may run at once (each holds 19 MiB while it runs). */
const CONCURRENT_HASHES = 4;
/**
 * How many may wait for one: past that a login or registration is refused at once (503,
 * try again), so that a flood of them cannot hold everyone else's for minutes, nor the
 * server's memory.
 */
const WAITING_HASHES = 64;

/** Why a password is refused, in a line a person understands; null when it is acceptable. */
export function passwordProblem(password: unknown): string | null {
  if (typeof password !== 'string') return 'the password must be text';
  const length = [...password].length;
  if (length < PASSWORD_MIN) return `the password must be at least ${PASSWORD_MIN} characters`;
  if (length > PASSWORD_MAX) return `the password must be at most ${PASSWORD_MAX} characters`;
  return null;
}

/** Runs work at most `limit` at a time, at most `waiting` more waiting in order, refusing the rest. */
class Gate {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly waiting: number,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.limit) {
      if (this.#waiting.length >= this.waiting)
        throw new HttpError(503, 'busy', 'too many sign-ins at once: try again in a moment', 1);
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else this.#running++;
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

const gate = new Gate(CONCURRENT_HASHES, WAITING_HASHES);
/** Verified against when a name is unknown or has no password: the same work, no answer. */
let dummy: Promise<string> | undefined;

/** The PHC string of a new hash of `password`. */
export function hashPassword(password: string): Promise<string> {
  return gate.run(() => hash(password));
}

/**
 * Whether `password` matches `stored` (a PHC string), and whether the stored hash should
 * be replaced by one with the current parameters. With `stored` null, checks a dummy hash
 * and answers false: as slow as a real check.
 */
export async function checkPassword(
  stored: string | null,
  password: string,
): Promise<{ matches: boolean; rehash: boolean }> {
  if (stored === null) {
    dummy ??= hashPassword('a password nobody has, for unknown names');
    const against = await dummy;
    await gate.run(() => verify(against, password).catch(() => false));
    return { matches: false, rehash: false };
  }
  // A refusal of the gate (busy) goes to the caller; a malformed hash is no match.
  const matches = await gate.run(() => verify(stored, password).catch(() => false));
  return { matches, rehash: matches && !stored.startsWith(CURRENT) };
}
