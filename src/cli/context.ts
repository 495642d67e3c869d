/**
 * What every command is given by `main`. It lives apart from main.ts, which imports every
 * command: a command that imported main.ts for this type would make an import cycle.
 * @module
 */
import type { GlobalOptions } from './connect.js';
import type { Output } from './output.js';
import type { Input } from './read-password.js';

/** What every command gets: where to print, and the global options once parsed. */
export interface CommandContext {
  output: Output;
  /** Standard input, or what a test gives (a password with --password-stdin). */
  input: Input;
  globals(): GlobalOptions;
}
