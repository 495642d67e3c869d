/**
 * Commands sent straight to the master that serves their key, on a connection of our own
 * to each master, instead of through node-redis's cluster client. The cluster client
 * spends several µs of CPU on every command (routing policies, per-node lookups, a chain
 * of promises); here a command costs its slot (./key-slot.ts), a lookup in the cluster
 * client's slot map, and a plain client's send: the price of one Redis. Commands to one
 * master share its connection, so those of many concurrent operations go out together.
 *
 * The cluster client stays the authority on where slots are: it re-reads the slot map
 * after a failover and on MOVED. A command answered MOVED (its slot has moved) is sent
 * again to the node the reply names, which then serves that slot here until the cluster
 * client's map agrees (it is nudged to re-read it); one answered ASK (its slot is
 * migrating, its key gone ahead) is sent to the node named, after ASKING, on the same
 * connection. So every command goes out on our own connections, and a WAIT on one of
 * them covers the writes sent on it. TRYAGAIN and lost connections are the caller's to
 * retry, as with the cluster client (disableOfflineQueue: a command is never queued
 * behind the caller's back).
 *
 * Each connection is opened with the caller's `open` (connect.ts's openClient, watched:
 * one that stops answering while it stays open is replaced within seconds). Connections
 * to nodes that no longer serve slots are closed.
 * @module
 */
import { ErrorReply } from 'redis';
import { closeClient, nodeUrl, type RedisClient, type RedisCluster } from './connect.js';
import { keySlot, SLOTS } from './key-slot.js';

/** How often connections to nodes that are no longer masters are looked for and closed. */
const SWEEP_MS = 2000;

/** How many redirections one command follows before it goes through the cluster client. */
const MAX_REDIRECTIONS = 5;

/** A master as the cluster client's slot map names it. */
interface Master {
  host: string;
  port: number;
}

/** Our connection to one master, or its opening. */
interface Node {
  address: string;
  /** False once it was dropped (not opened, or no longer a master). */
  live: boolean;
  client: RedisClient | undefined;
  opening: Promise<RedisClient>;
}

export class SlotRouter {
  readonly #cluster: RedisCluster;
  readonly #likeUrl: string;
  readonly #open: (url: string) => Promise<RedisClient>;
  /** By "host:port". */
  readonly #nodes = new Map<string, Node>();
  /** The node of each master object of the slot map (its objects change on a re-read). */
  #byMaster = new WeakMap<object, Node>();
  /** The node of each slot, and the master object of the slot map it was found for. */
  readonly #bySlot: ({ master: object; node: Node } | undefined)[] = new Array(SLOTS);
  /** Slots a MOVED reply placed elsewhere than the cluster client's map says, for now. */
  readonly #moved = new Map<number, Node>();
  readonly #sweeper: NodeJS.Timeout;
  #closed = false;

  /**
   * `cluster` is the cluster client whose slot map is followed; `likeUrl` a node URL (for
   * credentials and TLS); `open` what opens a connection to one node.
   */
  constructor(cluster: RedisCluster, likeUrl: string, open: (url: string) => Promise<RedisClient>) {
    this.#cluster = cluster;
    this.#likeUrl = likeUrl;
    this.#open = open;
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweeper.unref();
  }

  /** The connection to the master serving `key`, opened if need be. */
  connectionFor(key: string): Promise<RedisClient> {
    const node = this.#nodeOfSlot(keySlot(key));
    return node.client ? Promise.resolve(node.client) : node.opening;
  }

  /** Opens a connection to every master; resolves with them once all are open. */
  connectAll(): Promise<RedisClient[]> {
    return Promise.all(
      this.#cluster.masters.map((master) => {
        const node = this.#nodeOfMaster(master);
        return node.client ? Promise.resolve(node.client) : node.opening;
      }),
    );
  }

  /** Sends `args` (a command naming `key`) to the master that serves `key`. */
  send(key: string, args: string[]): Promise<unknown> {
    const slot = keySlot(key);
    let node: Node;
    try {
      node = this.#nodeOfSlot(slot);
    } catch {
      // The slot map is being re-read: the cluster client waits for it.
      return this.#cluster.sendCommand(key, false, args);
    }
    return this.#sendOn(node, args, false).catch((error: unknown) =>
      this.#redirected(error, slot, key, args, 1),
    );
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    const nodes = [...this.#nodes.values()];
    for (const node of nodes) this.#drop(node);
    this.#moved.clear();
    this.#byMaster = new WeakMap();
    await Promise.all(nodes.map((node) => this.#retire(node)));
  }

  #sendOn(node: Node, args: string[], asking: boolean): Promise<unknown> {
    const send = (client: RedisClient) =>
      asking
        ? // Issued together: nothing else can come between them on the connection.
          Promise.all([client.sendCommand(['ASKING']), client.sendCommand(args)]).then(
            ([, reply]) => reply,
          )
        : client.sendCommand(args);
    return node.client ? send(node.client) : node.opening.then(send);
  }

  /** Follows MOVED and ASK; any other error is the caller's. */
  #redirected(
    error: unknown,
    slot: number,
    key: string,
    args: string[],
    hops: number,
  ): Promise<unknown> {
    const redirection =
      error instanceof ErrorReply ? /^(MOVED|ASK) \d+ (.+):(\d+)$/.exec(error.message) : null;
    if (!redirection) throw error;
    const [, kind, host = '', port = ''] = redirection;
    // A cycle of redirections (a topology in flux): the cluster client sorts it out.
    if (hops > MAX_REDIRECTIONS) return this.#cluster.sendCommand(key, false, args);
    const node = this.#node(host, Number(port));
    if (kind === 'MOVED' && this.#moved.get(slot) !== node) {
      this.#moved.set(slot, node);
      // The cluster client re-reads its slot map on a MOVED of its own.
      this.#cluster.sendCommand(key, true, ['TYPE', key]).catch(() => {});
    }
    return this.#sendOn(node, args, kind === 'ASK').catch((next: unknown) =>
      this.#redirected(next, slot, key, args, hops + 1),
    );
  }

  #nodeOfSlot(slot: number): Node {
    if (this.#moved.size > 0) {
      const moved = this.#moved.get(slot);
      if (moved?.live) return moved;
    }
    const master = this.#cluster.getSlotMaster(slot);
    // The last answer for this slot, while the map still names the same master object.
    const cached = this.#bySlot[slot];
    if (cached?.master === master && cached.node.live) return cached.node;
    const node = this.#nodeOfMaster(master);
    this.#bySlot[slot] = { master, node };
    return node;
  }

  #nodeOfMaster(master: Master): Node {
    const known = this.#byMaster.get(master);
    if (known?.live) return known;
    const node = this.#node(master.host, master.port);
    this.#byMaster.set(master, node);
    return node;
  }

  #node(host: string, port: number): Node {
    const address = `${host}:${port}`;
    const known = this.#nodes.get(address);
    if (known) return known;
    if (this.#closed) throw new Error('the connections to the cluster are closed');
    const node: Node = {
      address,
      live: true,
      client: undefined,
      opening: this.#open(nodeUrl(this.#likeUrl, host, port)),
    };
    this.#nodes.set(address, node);
    node.opening.then(
      (client) => {
        if (node.live) node.client = client;
        else void closeClient(client, 0);
      },
      // Not opened: the next command opens it again (the failure went to its caller).
      () => this.#drop(node),
    );
    return node;
  }

  /**
   * Closes the connections to nodes that serve no slot now (a master that failed over),
   * and forgets the MOVED slots the cluster client's map has caught up with.
   */
  #sweep(): void {
    let masters: Set<string>;
    try {
      masters = new Set(this.#cluster.masters.map((m) => `${m.host}:${m.port}`));
      for (const [slot, node] of this.#moved) {
        const master = this.#cluster.getSlotMaster(slot);
        if (`${master.host}:${master.port}` === node.address) this.#moved.delete(slot);
      }
    } catch {
      return;
    }
    if (masters.size === 0) return;
    for (const node of this.#moved.values()) masters.add(node.address);
    for (const [address, node] of this.#nodes) {
      if (masters.has(address)) continue;
      this.#drop(node);
      void this.#retire(node);
    }
  }

  #drop(node: Node): void {
    node.live = false;
    if (this.#nodes.get(node.address) === node) this.#nodes.delete(node.address);
  }

  async #retire(node: Node): Promise<void> {
    const client = await node.opening.catch(() => undefined);
    if (client) await closeClient(client);
  }
}
