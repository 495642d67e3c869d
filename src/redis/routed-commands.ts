/**
 * The commands the cluster backend sends, under node-redis's names, sent as plain
 * commands through a {@link SlotRouter} (each to the master serving its key). Only the
 * forms in use are here; replies are Redis's own (a ZMSCORE score is a string).
 * Transactions go through the cluster client (they are rare, and it pins them to a node).
 * @module
 */
import type { RedisCluster } from './connect.js';
import type { LuaScript } from './lua-script.js';
import type { SlotRouter } from './slot-router.js';

interface ScriptCall {
  keys: string[];
  arguments: string[];
}

export class RoutedCommands {
  constructor(
    readonly router: SlotRouter,
    /** The cluster client, for what is off the send path (a streamed recount, transactions). */
    readonly cluster: RedisCluster,
  ) {}

  /**
   * Runs `script` on the node serving `keys` (all in one slot): EVALSHA, and EVAL if that
   * node has not got it (as LuaScript.run does, in the router's one step: a send runs
   * four scripts, and each wrapper costs a promise and a frame).
   */
  run(script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    return this.router.send(keys[0] ?? '', evalShaArgs(script.sha, keys, args), script.source);
  }

  /**
   * Runs `script` on the master the slot map names for `keys[0]`, and nowhere else:
   * resolves with `notHere` if that node redirects it (SlotRouter.sendHere).
   */
  runHere(script: LuaScript, keys: string[], args: string[], notHere: unknown): Promise<unknown> {
    return this.router.sendHere(
      keys[0] ?? '',
      evalShaArgs(script.sha, keys, args),
      script.source,
      notHere,
    );
  }

  evalSha(sha: string, { keys, arguments: args }: ScriptCall): Promise<unknown> {
    return this.router.send(keys[0] ?? '', evalShaArgs(sha, keys, args));
  }

  eval(source: string, { keys, arguments: args }: ScriptCall): Promise<unknown> {
    return this.router.send(keys[0] ?? '', ['EVAL', source, String(keys.length), ...keys, ...args]);
  }

  exists(key: string): Promise<number> {
    return this.router.send(key, ['EXISTS', key]) as Promise<number>;
  }

  type(key: string): Promise<string> {
    return this.router.send(key, ['TYPE', key]) as Promise<string>;
  }

  del(key: string): Promise<number> {
    return this.router.send(key, ['DEL', key]) as Promise<number>;
  }

  hSet(key: string, field: string, value: string): Promise<number> {
    return this.router.send(key, ['HSET', key, field, value]) as Promise<number>;
  }

  hmGet(key: string, fields: string[]): Promise<(string | null)[]> {
    return this.router.send(key, ['HMGET', key, ...fields]) as Promise<(string | null)[]>;
  }

  zmScore(key: string, members: string[]): Promise<(string | null)[]> {
    return this.router.send(key, ['ZMSCORE', key, ...members]) as Promise<(string | null)[]>;
  }

  zCard(key: string): Promise<number> {
    return this.router.send(key, ['ZCARD', key]) as Promise<number>;
  }

  zRange(key: string, start: number, stop: number): Promise<string[]> {
    return this.router.send(key, ['ZRANGE', key, String(start), String(stop)]) as Promise<string[]>;
  }

  sPublish(channel: string, message: string): Promise<number> {
    return this.router.send(channel, ['SPUBLISH', channel, message]) as Promise<number>;
  }

  /** A transaction, through the cluster client. */
  multi(): ReturnType<RedisCluster['multi']> {
    return this.cluster.multi();
  }
}

/** `['EVALSHA', sha, numkeys, ...keys, ...args]`, filled in place. */
function evalShaArgs(sha: string, keys: string[], args: string[]): string[] {
  const call = new Array<string>(3 + keys.length + args.length);
  call[0] = 'EVALSHA';
  call[1] = sha;
  call[2] = String(keys.length);
  for (let i = 0; i < keys.length; i++) call[3 + i] = keys[i] as string;
  for (let i = 0; i < args.length; i++) call[3 + keys.length + i] = args[i] as string;
  return call;
}
