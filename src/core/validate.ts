/**
 * Validation at the edge: every value a caller hands the messenger passes through here
 * before it reaches Redis, and fails with a ValidationError a person can read.
 * @module
 */
import { ValidationError } from '../errors.js';

export const USERNAME_MAX_LENGTH = 32;
export const DEFAULT_TEXT_MAX_LENGTH = 4096;
export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 1000;
export const DEFAULT_SEARCH_LIMIT = 20;
export const MAX_SEARCH_LIMIT = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STORED_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Control characters, line/paragraph separators and bidirectional overrides: they make a
// name print differently from how it compares, or break the terminal that prints it.
const FORBIDDEN_IN_NAME = /[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069\u200B\uFEFF]/u;

/** Length in characters (code points), not UTF-16 units: an emoji counts once. */
function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value;
}

/**
 * Whether a value is a UUID: in any case when a person typed it (`anyCase`), or in the
 * lower case ids are stored in when it was read from Redis.
 */
export function isId(value: string, anyCase = false): boolean {
  return (anyCase ? UUID : STORED_UUID).test(value);
}

/** A user or message id: any UUID, returned in the lower case the seed writes. */
export function validateId(value: unknown, what = 'id'): string {
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw new ValidationError(`${what} must be a UUID, got ${describe(value)}`);
  }
  return value.toLowerCase();
}

/** A username as typed: 1 to 32 characters, no control characters, no outer spaces. */
export function validateUsername(value: unknown): string {
  if (typeof value !== 'string') throw new ValidationError('a username must be a string');
  if (!value.isWellFormed()) throw new ValidationError('a username must be valid Unicode');
  const length = characterCount(value);
  if (length < 1 || length > USERNAME_MAX_LENGTH) {
    throw new ValidationError(`a username must be 1 to ${USERNAME_MAX_LENGTH} characters long`);
  }
  if (FORBIDDEN_IN_NAME.test(value)) {
    throw new ValidationError('a username must not contain control or invisible characters');
  }
  if (/^\s|\s$/u.test(value)) {
    throw new ValidationError('a username must not start or end with a space');
  }
  return value;
}

/**
 * The start of a username, to search by: the rules of a username (1 to 32 characters,
 * valid Unicode, no control or invisible characters), except that it may end with a
 * space ("Ann " finds "Ann Lee"). Not only spaces, and no leading one: no name has one.
 */
export function validateNamePrefix(value: unknown): string {
  if (typeof value !== 'string') throw new ValidationError('a name prefix must be a string');
  if (!value.isWellFormed()) throw new ValidationError('a name prefix must be valid Unicode');
  const length = characterCount(value);
  if (length < 1 || length > USERNAME_MAX_LENGTH) {
    throw new ValidationError(`a name prefix must be 1 to ${USERNAME_MAX_LENGTH} characters long`);
  }
  if (FORBIDDEN_IN_NAME.test(value)) {
    throw new ValidationError('a name prefix must not contain control or invisible characters');
  }
  if (/^\s/u.test(value)) {
    throw new ValidationError('a name prefix must not start with a space');
  }
  return value;
}

/**
 * The form two names are compared in: NFKC, then case folded. JavaScript has no full
 * case folding; lower-, upper-, then lower-casing comes closest: "Straße", "STRASSE" and
 * "STRAẞE" (capital sharp s) all meet at "strasse".
 */
export function foldUsername(username: string): string {
  return username.normalize('NFKC').toLowerCase().toUpperCase().toLowerCase().normalize('NFKC');
}

/** A message text: stored byte-exact, so only emptiness, length and broken Unicode are refused. */
export function validateText(value: unknown, maxLength: number): string {
  if (typeof value !== 'string') throw new ValidationError('a message must be a string');
  if (value.trim() === '') throw new ValidationError('a message must not be empty');
  if (!value.isWellFormed()) throw new ValidationError('a message must be valid Unicode');
  if (value.length > maxLength && characterCount(value) > maxLength) {
    throw new ValidationError(`a message must be at most ${maxLength} characters long`);
  }
  return value;
}

/** A page size: a whole number from 1 to `max` (1000 unless said). */
export function validateLimit(
  value: unknown,
  fallback = DEFAULT_PAGE_LIMIT,
  max = MAX_PAGE_LIMIT,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new ValidationError(
      `limit must be a whole number from 1 to ${max}, got ${describe(value)}`,
    );
  }
  return value;
}

export interface Paging {
  /** How many entries at most. Default 50, at most 1000. */
  limit?: number;
  /** Return the entries just before this one (a message id). */
  before?: string;
  /** Return the entries just after this one (a message id). */
  after?: string;
}

export type PageRequest =
  | { mode: 'latest' | 'first'; limit: number }
  | { mode: 'before' | 'after' | 'after-score'; limit: number; cursor: string };

/** Paging arguments: at most one of `before` and `after`, each a message id. */
export function validatePaging(paging: Paging | undefined): PageRequest {
  const limit = validateLimit(paging?.limit);
  const { before, after } = paging ?? {};
  if (before !== undefined && after !== undefined) {
    throw new ValidationError('give either before or after, not both');
  }
  if (before !== undefined) return { mode: 'before', limit, cursor: validateId(before, 'before') };
  if (after !== undefined) return { mode: 'after', limit, cursor: validateId(after, 'after') };
  return { mode: 'latest', limit };
}

/** A numeric option: a positive whole number (of `unit`), or `fallback` when not given. */
export function validateCount(
  value: unknown,
  what: string,
  unit: string,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ValidationError(`${what} must be a positive whole number of ${unit}`);
  }
  return value;
}

/** A key namespace: letters, digits and `_.-`, so that it cannot break a key name apart. */
export function validateNamespace(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(value)) {
    throw new ValidationError('namespace must be 1 to 64 letters, digits, "_", "." or "-"');
  }
  return value;
}
