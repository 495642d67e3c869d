/**
 * A Lua script kept in a .lua file beside the code: hashed once, sent once with SCRIPT
 * LOAD, then called by SHA. After a Redis restart has emptied the script cache, the first
 * call gets NOSCRIPT and falls back to EVAL, which caches it again.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RedisConnection } from './connect.js';

export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Reads `<name>.lua` from the folder `folder` (a file: URL, from `import.meta.url`). */
  static fromFile(folder: URL, name: string): LuaScript {
    return new LuaScript(name, readFileSync(new URL(`${name}.lua`, folder), 'utf8'));
  }

  /** Loads the script into one server (on a cluster, call it for every master). */
  async load(client: RedisConnection): Promise<void> {
    await client.scriptLoad(this.source);
  }

  /** Runs the script; on a cluster, on the node serving `keys` (all in one slot). */
  async run(client: RedisConnection, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await client.evalSha(this.sha, { keys, arguments: args });
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, { keys, arguments: args });
    }
  }
}
