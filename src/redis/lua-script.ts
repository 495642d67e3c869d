/**
 * A Lua script kept in a .lua file beside the code (its shared parts included): hashed
 * once, sent once with SCRIPT LOAD, then called by SHA. After a Redis restart has emptied the script cache, the first
 * call gets NOSCRIPT and falls back to EVAL, which caches it again.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RedisConnection } from './connect.js';

/** What runs a script: a node-redis client or cluster, or ./routed-commands.ts. */
export interface ScriptRunner {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(source: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * Reads `<name>.lua` from the folder `folder` (a file: URL, from `import.meta.url`).
   * A line `--#include <part>` is replaced by `<part>.lua` of `includes` (by default the
   * folder's `includes/`): what several scripts share is written once, and the script
   * Redis runs is still one text.
   */
  static fromFile(folder: URL, name: string, includes = new URL('includes/', folder)): LuaScript {
    const source = readFileSync(new URL(`${name}.lua`, folder), 'utf8').replace(
      /^--#include ([a-z-]+)$/gm,
      (_, part: string) => readFileSync(new URL(`${part}.lua`, includes), 'utf8').trimEnd(),
    );
    return new LuaScript(name, source);
  }

  /** Loads the script into one server (on a cluster, call it for every master). */
  async load(client: RedisConnection): Promise<void> {
    await client.scriptLoad(this.source);
  }

  /** Runs the script; on a cluster, on the node serving `keys` (all in one slot). */
  async run(client: ScriptRunner, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await client.evalSha(this.sha, { keys, arguments: args });
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, { keys, arguments: args });
    }
  }
}
