/**
 * A throwaway local Redis Cluster for tests: `redis-server --cluster-enabled yes` nodes on
 * free ports of 127.0.0.1, each with its own folder, joined by `redis-cli --cluster create`
 * (3 masters or more) or by hand (1 or 2 masters, which redis-cli refuses). `stop()` kills
 * every node and removes every folder. The nodes are started by ./redis-server.ts, whose
 * exit hook also kills them when the test process exits (not when a signal kills it
 * outright). Tests never touch a Redis they did not start.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { keySlot, SLOTS } from '../../src/redis/key-slot.js';
import { freePort, type RedisServer, startRedisServer } from './redis-server.js';

export { keySlot, SLOTS };

/** One node of a {@link RedisCluster}. */
export interface ClusterNode {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** The node's cluster id (40 hex digits). */
  readonly id: string;
  /**
   * 'master' or 'replica' as the cluster last reported it (refreshed by `waitForStable()`
   * and `masterOf()`), so a promoted replica reads 'master' after a failover settles.
   */
  readonly role: 'master' | 'replica';
  /** The running redis-server process (a new one after `restart()`). */
  readonly process: ChildProcess;
  /** Whether the process runs and was not paused with SIGSTOP. */
  readonly alive: boolean;
  /** Sends a signal (SIGKILL, SIGSTOP, SIGCONT, ...) to the node's process. */
  signal(signal: NodeJS.Signals): void;
  /** Starts the node again on the same port and folder; it rejoins with its old identity. */
  restart(): Promise<void>;
}

/** A running local Redis Cluster; see {@link startRedisCluster}. */
export interface RedisCluster {
  readonly nodes: readonly ClusterNode[];
  /** redis://127.0.0.1:<port> of every node, for node-redis `createCluster({ rootNodes })`. */
  readonly urls: readonly string[];
  /** The node that serves `slot`, as seen by the first live node that answers. */
  masterOf(slot: number): Promise<ClusterNode>;
  /** The node that serves `key` (hash tags respected). */
  nodeForKey(key: string): Promise<ClusterNode>;
  /**
   * Resolves once every live node reports cluster_state:ok with all 16384 slots ok, all
   * live nodes agree on who serves each slot, every slot is served by a live node and every
   * live replica is in sync with its master. Rejects after `timeoutMs` saying what was missing.
   */
  waitForStable(timeoutMs?: number): Promise<void>;
  /** Kills every node and removes every folder. Safe to call twice. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /**
   * Number of masters (shards). Default 3. From 3 up redis-cli creates the cluster; 1 or 2
   * (1: the cluster code path on a single shard, to compare with one Redis) are joined by
   * hand, the way redis-cli would.
   */
  masters?: number;
  /** Replicas of each master. Default 0. */
  replicasPerMaster?: number;
  /** Extra redis-server settings for every node, e.g. ['--appendonly', 'yes']. */
  args?: string[];
}

/** Runs redis-cli with a deadline; resolves with its stdout, rejects with its output. */
function redisCli(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) {
        const why = error.killed ? `timed out after ${timeoutMs} ms` : error.message;
        reject(new Error(`redis-cli ${args.join(' ')}: ${why}\n${stdout}${stderr}`.trim()));
      } else resolve(stdout);
    });
  });
}

/** One node's command over redis-cli; a paused node must not stall the caller for long. */
function ask(port: number, ...command: string[]): Promise<string> {
  return redisCli(['-h', '127.0.0.1', '-p', String(port), ...command], 2000);
}

/** A command whose reply must be OK (redis-cli exits 0 on an error reply too). */
async function expectOk(port: number, ...command: string[]): Promise<void> {
  const reply = (await ask(port, ...command)).trim();
  if (reply !== 'OK') throw new Error(`${command.join(' ')} on node ${port}: ${reply}`);
}

interface NodeLine {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** "start-end" ranges this node serves (migration markers like [1-<-id] dropped). */
  slots: string[];
}

/** Parses CLUSTER NODES: `<id> <ip:port@cport[,host]> <flags> <master> ... <slot> ...`. */
function parseNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter((fields) => fields.length >= 8)
    .map((fields) => ({
      id: fields[0] ?? '',
      port: Number(/:(\d+)@/.exec(fields[1] ?? '')?.[1]),
      role: (fields[2] ?? '').includes('master') ? 'master' : 'replica',
      slots: fields.slice(8).filter((slot) => !slot.startsWith('[')),
    }));
}

function inRange(slot: number, range: string): boolean {
  const [start = -1, end = start] = range.split('-').map(Number);
  return start <= slot && slot <= end;
}

/** Records each node's id and role as a node's CLUSTER NODES reports them. */
function noteRoles(nodes: Node[], lines: NodeLine[]): void {
  for (const line of lines) {
    const node = nodes.find((candidate) => candidate.port === line.port);
    if (node) {
      node.role = line.role;
      node.id = line.id;
    }
  }
}

/** Which port serves each slot range, in a stable order so two views can be compared. */
function ownership(lines: NodeLine[]): string {
  return lines
    .flatMap((line) => line.slots.map((range) => `${range}=${line.port}`))
    .sort()
    .join(' ');
}

/** Who each node is (master or replica), as one node's view says: every view must agree. */
function roles(lines: NodeLine[]): string {
  return lines
    .map((line) => `${line.port}=${line.role}`)
    .sort()
    .join(' ');
}

/** Starts a cluster node; its bus port is picked explicitly, since port+10000 may be > 65535. */
async function startNode(args: string[]): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    const busPort = await freePort();
    try {
      return await startRedisServer([
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        // Short, so a killed master is noticed and replaced within a few seconds.
        '--cluster-node-timeout',
        '1000',
        '--cluster-port',
        String(busPort),
        // A master otherwise waits 5 s for more replicas before it starts a diskless sync.
        '--repl-diskless-sync-delay',
        '0',
        ...args,
      ]);
    } catch (error) {
      // startRedisServer retries a taken client port; a taken bus port needs a new one too.
      if (attempt >= 3) throw error;
    }
  }
}

/**
 * Starts a local Redis Cluster of `masters` shards with `replicasPerMaster` replicas each
 * and resolves once it is stable (see {@link RedisCluster.waitForStable}).
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 0;
  if (!Number.isInteger(masters) || masters < 1) throw new Error(`masters: ${masters}?`);
  if (!Number.isInteger(replicas) || replicas < 0)
    throw new Error(`replicasPerMaster: ${replicas}?`);

  const started = await Promise.allSettled(
    Array.from({ length: masters * (replicas + 1) }, () => startNode(options.args ?? [])),
  );
  const servers = started.flatMap((result) =>
    result.status === 'fulfilled' ? [result.value] : [],
  );
  const nodes = servers.map((server) => new Node(server));

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= Promise.all(
      nodes.map(async (node) => {
        // The data is thrown away: SIGKILL skips a master's wait for its replicas on SIGTERM.
        node.signal('SIGKILL');
        await node.server.stop();
      }),
    ).then(() => undefined);
    return stopped;
  };

  const masterOf = async (slot: number): Promise<ClusterNode> => {
    for (const node of nodes.filter((candidate) => candidate.alive)) {
      const lines = parseNodes(await ask(node.port, 'CLUSTER', 'NODES').catch(() => ''));
      const owner = lines.find((line) => line.slots.some((range) => inRange(slot, range)));
      const found = nodes.find((candidate) => candidate.port === owner?.port);
      if (found) {
        noteRoles(nodes, lines);
        return found;
      }
    }
    throw new Error(`no live node knows who serves slot ${slot}`);
  };

  const waitForStable = async (timeoutMs = 15_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let missing = 'nothing checked yet';
    while (Date.now() < deadline) {
      missing = await unstableBecause(nodes).catch((error: Error) => error.message);
      if (!missing) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the Redis Cluster was not stable within ${timeoutMs} ms: ${missing}`);
  };

  const cluster: RedisCluster = {
    nodes,
    urls: nodes.map((node) => node.url),
    masterOf,
    nodeForKey: (key) => masterOf(keySlot(key)),
    waitForStable,
    stop,
  };
  try {
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    if (masters >= 3) {
      const hosts = nodes.map((node) => `127.0.0.1:${node.port}`);
      await redisCli(
        ['--cluster', 'create', ...hosts, '--cluster-replicas', String(replicas), '--cluster-yes'],
        30_000,
      );
    } else {
      await createByHand(nodes, masters);
    }
    await waitForStable();
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * What `redis-cli --cluster create` does, for the 1 or 2 masters it refuses: the first
 * `masters` nodes take an equal share of the slots each, every node meets the first, and
 * each remaining node replicates a master in turn (replica k of master k % masters).
 */
async function createByHand(nodes: Node[], masters: number): Promise<void> {
  // Distinct config epochs, as redis-cli sets them, so no two masters' claims tie.
  await Promise.all(
    nodes.map((node, i) => expectOk(node.port, 'CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1))),
  );
  await Promise.all(
    nodes.slice(0, masters).map((node, m) => {
      const first = Math.floor((m * SLOTS) / masters);
      const last = Math.floor(((m + 1) * SLOTS) / masters) - 1;
      return expectOk(node.port, 'CLUSTER', 'ADDSLOTSRANGE', String(first), String(last));
    }),
  );
  const [first, ...others] = nodes;
  if (!first || others.length === 0) return;
  // The bus port was chosen at start (startNode), not derived from the port: ask for it.
  const [, busPort = ''] = (await ask(first.port, 'CONFIG', 'GET', 'cluster-port')).split('\n');
  await Promise.all(
    others.map((node) =>
      expectOk(node.port, 'CLUSTER', 'MEET', '127.0.0.1', String(first.port), busPort.trim()),
    ),
  );
  const ids = await Promise.all(
    nodes.map(async (node) => (await ask(node.port, 'CLUSTER', 'MYID')).trim()),
  );
  const replicas = nodes.slice(masters);
  await Promise.all(
    replicas.map(async (replica, k) => {
      const masterId = ids[k % masters] ?? '';
      // A node can only replicate a master it has heard of through the cluster bus.
      const deadline = Date.now() + 10_000;
      while (!(await ask(replica.port, 'CLUSTER', 'NODES')).includes(masterId)) {
        if (Date.now() > deadline) throw new Error(`node ${replica.port} never met ${masterId}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await expectOk(replica.port, 'CLUSTER', 'REPLICATE', masterId);
    }),
  );
}

class Node implements ClusterNode {
  role: 'master' | 'replica' = 'master';
  id = '';
  #paused = false;

  constructor(readonly server: RedisServer) {}

  get port(): number {
    return this.server.port;
  }
  get url(): string {
    return this.server.url;
  }
  get dir(): string {
    return this.server.dir;
  }
  get process(): ChildProcess {
    return this.server.process;
  }
  get alive(): boolean {
    const child = this.server.process;
    return child.exitCode === null && child.signalCode === null && !this.#paused;
  }
  signal(signal: NodeJS.Signals): void {
    // A stopped process still exists but cannot answer; waits must not count on it.
    if (signal === 'SIGSTOP') this.#paused = true;
    if (signal === 'SIGCONT') this.#paused = false;
    this.server.signal(signal);
  }
  async restart(): Promise<void> {
    this.#paused = false;
    await this.server.restart();
  }
}

/** '' when the cluster is stable, else what is still missing. */
async function unstableBecause(all: Node[]): Promise<string> {
  const live = all.filter((node) => node.alive);
  if (live.length === 0) return 'no node is alive';
  const views = await Promise.all(
    live.map(async (node) => ({
      node,
      info: await ask(node.port, 'CLUSTER', 'INFO'),
      lines: parseNodes(await ask(node.port, 'CLUSTER', 'NODES')),
      replication: await ask(node.port, 'INFO', 'replication'),
    })),
  );
  const livePorts = new Set(live.map((node) => node.port));
  for (const { node, info, lines, replication } of views) {
    if (!info.includes('cluster_state:ok')) return `node ${node.port} reports cluster_state not ok`;
    if (!info.includes(`cluster_slots_ok:${SLOTS}`)) return `node ${node.port}: slots not all ok`;
    // For about a node timeout after a kill, the other nodes have not noticed and still
    // report ok; only our own knowledge of which processes died closes that window.
    const dead = lines.find((line) => line.slots.length > 0 && !livePorts.has(line.port));
    if (dead) return `node ${node.port} still routes slots to dead node ${dead.port}`;
    const reference = views[0];
    if (reference && ownership(lines) !== ownership(reference.lines)) {
      return `nodes ${node.port} and ${reference.node.port} disagree on slot ownership`;
    }
    // Right after a replica is attached, other nodes may still list it as a master.
    if (reference && roles(lines) !== roles(reference.lines)) {
      return `nodes ${node.port} and ${reference.node.port} disagree on who is a replica`;
    }
    const self = lines.find((line) => line.port === node.port);
    if (self?.role === 'replica' && !replication.includes('master_link_status:up')) {
      return `replica ${node.port} is not in sync with its master yet`;
    }
  }
  noteRoles(all, views[0]?.lines ?? []);
  return '';
}
