/**
 * What every command knows before it connects: the global options, and how the command
 * is typed (for the commands that messages suggest).
 * @module
 */

export interface GlobalOptions {
  redis?: string;
  /** Node URLs, parsed from --cluster. */
  cluster?: string[];
  /** A messenger server's address (normalServer), from --server. */
  server?: string;
  /** Prefix of every key (RedisMessenger's `namespace`). */
  namespace?: string;
  verbose?: boolean;
  /** The command being run (`user create`), for messages; set by main, not a flag. */
  command?: string;
}

/**
 * How this command is typed: from a checkout (run from the TypeScript sources) it is
 * `npm run messenger --`, installed it is `messenger`. For commands suggested in messages.
 */
export const INVOCATION = import.meta.url.endsWith('.ts') ? 'npm run messenger --' : 'messenger';
