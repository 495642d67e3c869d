/**
 * Commands sent straight to the master that serves their key, on the cluster client's
 * own connection to that master, instead of through the cluster client's command path.
 * That path spends several µs of CPU on every command (routing policies, per-node
 * lookups, a chain of promises); here a command costs its slot (./key-slot.ts), a lookup
 * in the cluster client's slot map, and a plain client's send: the price of one Redis.
 * Commands to one master share its connection, so those of many concurrent operations go
 * out together. No connection is opened here: the cluster client's connection to each
 * master carries its own commands, these, and the shared subscriber's sharded
 * subscriptions (./subscriber.ts; RESP3 lets one connection do both), so a messenger
 * holds one connection per master.
 *
 * The cluster client stays the authority on where slots are and on its connections: it
 * re-reads the slot map after a failover and on MOVED, connects to a promoted replica and
 * closes its connection to a node that serves no slot any more. A command answered MOVED
 * (its slot has moved) is sent again to the node the reply names, which then serves that
 * slot here until the cluster client's map agrees (it is nudged to re-read it); one
 * answered ASK (its slot is migrating, its key gone ahead) is sent to the node named,
 * after ASKING, on the same connection. A node the cluster client does not know yet gets
 * the command through the cluster client. So a WAIT on a master's connection covers the
 * writes sent to it. TRYAGAIN and lost connections are the caller's to retry, as with the
 * cluster client (disableOfflineQueue: a command is never queued behind the caller's back).
 *
 * The connections are watched for silence by connect.ts (watchClusterLiveness): one that
 * stops answering while it stays open gets a new socket within seconds.
 * @module
 */
import { ErrorReply } from 'redis';
import type { RedisClient, RedisCluster } from './connect.js';
import { keySlot } from './key-slot.js';

/** How often MOVED slots the cluster client's map has caught up with are forgotten. */
const SWEEP_MS = 2000;

/** How many redirections one command follows before it goes through the cluster client. */
const MAX_REDIRECTIONS = 5;

/** A node as the cluster client's slot map holds it: its address and its connection. */
type ClusterNode = Parameters<RedisCluster['nodeClient']>[0];

export class SlotRouter {
  readonly #cluster: RedisCluster;
  /** Slots a MOVED reply placed elsewhere than the cluster client's map says, for now: their node's address. */
  readonly #moved = new Map<number, string>();
  #sweeper: NodeJS.Timeout | undefined;

  /** `cluster` is the cluster client whose slot map and connections are used. */
  constructor(cluster: RedisCluster) {
    this.#cluster = cluster;
  }

  /** The connection to the master serving `key` (the cluster client's), opened if need be. */
  connectionFor(key: string): Promise<RedisClient> {
    return this.#connection(this.#nodeOfSlot(keySlot(key)));
  }

  /**
   * Whether one master serves the slots of all `keys`, as far as the slot map (and the
   * MOVED replies since) says now. The map can be behind the cluster: a caller that acts
   * on a yes must cope with a node that serves fewer of them than this says.
   */
  oneMaster(keys: readonly string[]): boolean {
    try {
      const first = this.#nodeOfSlot(keySlot(keys[0] ?? '')).address;
      for (let i = 1; i < keys.length; i++) {
        if (this.#nodeOfSlot(keySlot(keys[i] as string)).address !== first) return false;
      }
      return true;
    } catch {
      // The slot map is being re-read.
      return false;
    }
  }

  /** The connection to every master; resolves with them once all are open. */
  connectAll(): Promise<RedisClient[]> {
    return Promise.all(this.#cluster.masters.map((master) => this.#connection(master)));
  }

  /**
   * Sends `args` (a command naming `key`) to the master that serves `key`. `noScript`, for
   * an EVALSHA, is the script's source: if the node answers NOSCRIPT (a script cache
   * emptied by a restart, a promoted replica) the call goes again as EVAL, which caches
   * it. One step here, not a wrapper around it.
   *
   * Written for the send path, where it runs six times a send: no closure or array per
   * command (each costs an allocation, and under tsx a `__name` call dearer than the send
   * itself), one promise of its own besides the connection's.
   */
  async send(key: string, args: string[], noScript?: string): Promise<unknown> {
    const slot = keySlot(key);
    let node: ClusterNode;
    try {
      node = this.#nodeOfSlot(slot);
    } catch {
      // The slot map is being re-read: the cluster client waits for it.
      return this.#throughCluster(key, args, noScript);
    }
    const { client } = node;
    try {
      return await (client?.isReady
        ? (client as RedisClient).sendCommand(args)
        : this.#sendOn(node, args, false));
    } catch (error) {
      if (noScript !== undefined && isNoScript(error))
        return this.send(key, asEval(args, noScript));
      return this.#redirected(error, slot, key, args, 1, noScript);
    }
  }

  /**
   * As `send`, to the master the slot map names for `key`, but never further: a command
   * answered MOVED or ASK (which is noted, as by `send`) resolves with `notHere` instead,
   * and so does one the map cannot place now. For a script that touches keys of other
   * slots than its own (send-on-one-node-2.lua), whose caller has another way.
   */
  async sendHere(
    key: string,
    args: string[],
    noScript: string,
    notHere: unknown,
  ): Promise<unknown> {
    const slot = keySlot(key);
    let node: ClusterNode;
    try {
      node = this.#nodeOfSlot(slot);
    } catch {
      return notHere;
    }
    try {
      return await this.#sendOn(node, args, false);
    } catch (error) {
      if (isNoScript(error)) return this.sendHere(key, asEval(args, noScript), noScript, notHere);
      if (!this.#noteRedirection(error, slot, key)) throw error;
      return notHere;
    }
  }

  /** Stops following MOVED slots (the connections are the cluster client's to close). */
  close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    this.#moved.clear();
    return Promise.resolve();
  }

  #connection(node: ClusterNode): Promise<RedisClient> {
    // Open (ready, or reconnecting on its own: commands fail at once while it is down),
    // or opened now by the cluster client.
    if (node.client && !node.connectPromise) return Promise.resolve(node.client as RedisClient);
    return this.#cluster.nodeClient(node) as Promise<RedisClient>;
  }

  async #sendOn(node: ClusterNode, args: string[], asking: boolean): Promise<unknown> {
    const client = node.client?.isReady
      ? (node.client as RedisClient)
      : await this.#connection(node);
    if (!asking) return client.sendCommand(args);
    // Issued together: nothing else can come between them on the connection.
    const [, reply] = await Promise.all([client.sendCommand(['ASKING']), client.sendCommand(args)]);
    return reply;
  }

  /** Through the cluster client, which finds the node itself; NOSCRIPT answered as by send. */
  async #throughCluster(key: string, args: string[], noScript?: string): Promise<unknown> {
    try {
      return await this.#cluster.sendCommand(key, false, args);
    } catch (error) {
      if (noScript !== undefined && isNoScript(error)) {
        return this.#cluster.sendCommand(key, false, asEval(args, noScript));
      }
      throw error;
    }
  }

  /** Follows MOVED and ASK; any other error is the caller's. */
  #redirected(
    error: unknown,
    slot: number,
    key: string,
    args: string[],
    hops: number,
    noScript: string | undefined,
  ): Promise<unknown> {
    const redirection = this.#noteRedirection(error, slot, key);
    if (!redirection) throw error;
    const { kind, node } = redirection;
    // A cycle of redirections (a topology in flux), or a node the cluster client has not
    // met yet: the cluster client sorts it out.
    if (hops > MAX_REDIRECTIONS || !node) return this.#throughCluster(key, args, noScript);
    return this.#sendOn(node, args, kind === 'ASK').catch((next: unknown) => {
      if (noScript !== undefined && isNoScript(next)) return this.send(key, asEval(args, noScript));
      return this.#redirected(next, slot, key, args, hops + 1, noScript);
    });
  }

  /**
   * A MOVED or ASK reply: its kind and the node it names (if the cluster client knows
   * it). A MOVED slot is served by that node here from now on, and the cluster client is
   * nudged to re-read its map. Anything else: undefined.
   */
  #noteRedirection(
    error: unknown,
    slot: number,
    key: string,
  ): { kind: string; node: ClusterNode | undefined } | undefined {
    const redirection =
      error instanceof ErrorReply ? /^(MOVED|ASK) \d+ (.+:\d+)$/.exec(error.message) : null;
    if (!redirection) return undefined;
    const [, kind = '', address = ''] = redirection;
    const node = this.#cluster.nodeByAddress.get(address);
    if (node && kind === 'MOVED' && this.#moved.get(slot) !== address) {
      this.#moved.set(slot, address);
      this.#sweeper ??= setInterval(() => this.#sweep(), SWEEP_MS);
      this.#sweeper.unref();
      // The cluster client re-reads its slot map on a MOVED of its own.
      this.#cluster.sendCommand(key, true, ['TYPE', key]).catch(() => {});
    }
    return { kind, node };
  }

  #nodeOfSlot(slot: number): ClusterNode {
    if (this.#moved.size > 0) {
      const address = this.#moved.get(slot);
      const moved = address === undefined ? undefined : this.#cluster.nodeByAddress.get(address);
      if (moved) return moved;
    }
    return this.#cluster.getSlotMaster(slot);
  }

  /** Forgets the MOVED slots the cluster client's map has caught up with. */
  #sweep(): void {
    try {
      for (const [slot, address] of this.#moved) {
        if (this.#cluster.getSlotMaster(slot).address === address) this.#moved.delete(slot);
      }
    } catch {
      return;
    }
    if (this.#moved.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** An EVALSHA's arguments as the EVAL of `source`. */
function asEval(evalSha: string[], source: string): string[] {
  return ['EVAL', source, ...evalSha.slice(2)];
}
