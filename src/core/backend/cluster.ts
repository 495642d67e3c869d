/**
 * The backend on a Redis Cluster: hash-tagged keys, multi-key writes as ordered
 * single-slot steps, sharded pub/sub with one subscriber connection per master, scripts
 * loaded into every master, WAIT on each master a send wrote to.
 * @module
 */
import { closeClient, type RedisClient, type RedisCluster } from '../../redis/connect.js';
import { waitOnCluster } from '../../redis/replicas.js';
import { ShardedSubscriber, type Subscriber } from '../../redis/subscriber.js';
import type { Keys } from '../keys.js';
import { scripts } from '../scripts.js';
import { newestInUnseenSets, type UnseenStep } from '../unseen.js';
import type { Backend } from './backend.js';
import { readHash } from './cluster-read.js';
import { ClusterWrites } from './cluster-writes.js';
import type { Writes } from './writes.js';

export class ClusterBackend implements Backend {
  readonly writes: Writes;
  readonly sends: Writes;
  #subscriber: Subscriber | undefined;

  /**
   * `sendClient` is `client` unless sends wait for replicas; `likeUrl` a node URL (for
   * credentials and TLS) and `connect` what opens a connection to one node.
   */
  constructor(
    readonly keys: Keys,
    readonly client: RedisCluster,
    private readonly sendClient: RedisCluster,
    readonly target: string,
    private readonly likeUrl: string,
    private readonly connect: (url: string) => Promise<RedisClient>,
  ) {
    this.writes = new ClusterWrites(client, keys);
    this.sends = sendClient === client ? this.writes : new ClusterWrites(sendClient, keys);
  }

  readHash(key: string, fields: readonly string[]): Promise<(string | null)[]> {
    // The hashes live on several nodes: the typed command is routed by key.
    return readHash(this.client, key, fields);
  }

  findUnseen(
    userId: string,
    senders: readonly string[],
    wanted: number,
    from?: string,
  ): Promise<UnseenStep> {
    return newestInUnseenSets(this.client, this.keys, userId, senders, wanted, from);
  }

  publish(channel: string, message: string): Promise<unknown> {
    return this.client.sPublish(channel, message);
  }

  subscriber(): Subscriber {
    this.#subscriber ??= new ShardedSubscriber(this.client, this.likeUrl, this.connect);
    return this.#subscriber;
  }

  /** Into every master; a replica promoted later gets them on first use (NOSCRIPT, EVAL). */
  async loadScripts(): Promise<void> {
    const all = Object.values(scripts);
    await Promise.all(
      this.client.masters.map(async (master) => {
        const node = await this.client.nodeClient(master);
        await Promise.all(all.map((script) => script.load(node)));
      }),
    );
  }

  waitForSend(
    send: { id: string; sender: string; receiver: string; retried: boolean },
    replicas: number,
    timeoutMs: number,
  ): Promise<number> {
    const { keys } = this;
    // The slots a send writes to (ClusterWrites.sendMessage): a master each, at most four.
    const written = [
      keys.message(send.id),
      keys.inbox(send.receiver),
      keys.conversation(send.sender, send.receiver),
      keys.conversations(send.sender),
    ];
    return waitOnCluster(this.sendClient, written, replicas, timeoutMs, {
      markFor: send.retried ? (key) => keys.replicationMark(key) : undefined,
    });
  }

  explainReply(): undefined {
    return undefined;
  }

  async close(): Promise<void> {
    await this.#subscriber?.close();
    await Promise.all([...new Set([this.client, this.sendClient])].map((c) => closeClient(c)));
  }
}
