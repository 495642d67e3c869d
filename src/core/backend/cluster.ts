/**
 * The backend on a Redis Cluster: hash-tagged keys, multi-key writes as ordered
 * single-slot steps sent straight to each key's master on the cluster client's connection
 * to it (redis/slot-router.ts: node-redis's cluster command path costs several times the
 * CPU per command), sharded pub/sub on the same connections, scripts loaded into every
 * master, WAIT on each master a send wrote to. Other reads go through the cluster client:
 * one connection to each master in all (two with waitForReplicas).
 * @module
 */
import { closeClient, type RedisCluster } from '../../redis/connect.js';
import { waitOnCluster } from '../../redis/replicas.js';
import { RoutedCommands } from '../../redis/routed-commands.js';
import { SlotRouter } from '../../redis/slot-router.js';
import { ShardedSubscriber, type Subscriber } from '../../redis/subscriber.js';
import { checkClusterLayout } from '../cluster-layout.js';
import type { Keys } from '../keys.js';
import { scripts } from '../scripts.js';
import type { Message } from '../types.js';
import { listUnseenInSets } from '../unseen.js';
import type { Backend } from './backend.js';
import { readHash } from './cluster-read.js';
import { ClusterWrites } from './cluster-writes.js';
import type { StepRunner, Writes } from './writes.js';

export class ClusterBackend implements Backend {
  readonly writes: Writes;
  readonly sends: Writes;
  /** The commands of `writes`, and of `sends` (their own connections with waitForReplicas). */
  readonly #routed: RoutedCommands;
  readonly #routedSends: RoutedCommands;
  #subscriber: Subscriber | undefined;

  /**
   * `sendClient` is `client` unless sends wait for replicas (WAIT holds up its
   * connections); everything else, the subscriber's sharded subscriptions too, shares
   * `client`'s one connection to each master.
   */
  constructor(
    readonly keys: Keys,
    readonly client: RedisCluster,
    private readonly sendClient: RedisCluster,
    readonly target: string,
  ) {
    const route = (cluster: RedisCluster) => new RoutedCommands(new SlotRouter(cluster), cluster);
    this.#routed = route(client);
    this.#routedSends = sendClient === client ? this.#routed : route(sendClient);
    this.writes = new ClusterWrites(this.#routed, keys);
    this.sends = sendClient === client ? this.writes : new ClusterWrites(this.#routedSends, keys);
  }

  readHash(key: string, fields: readonly string[]): Promise<(string | null)[]> {
    // The hashes live on several nodes: each is read from its own.
    return readHash(this.#routed, key, fields);
  }

  listUnseen(
    userId: string,
    senders: readonly string[],
    wanted: number,
    step: StepRunner,
  ): Promise<Message[]> {
    return listUnseenInSets(this, this.client, userId, senders, wanted, step);
  }

  publish(channel: string, message: string): Promise<unknown> {
    return this.#routed.sPublish(channel, message);
  }

  subscriber(): Subscriber {
    this.#subscriber ??= new ShardedSubscriber(this.client);
    return this.#subscriber;
  }

  /**
   * Into every master, through the connections commands go on (opened now, so that a
   * node that cannot be reached fails the connect); a replica promoted later gets them
   * on first use (NOSCRIPT, EVAL).
   */
  async loadScripts(): Promise<void> {
    const all = Object.values(scripts);
    const [nodes] = await Promise.all([
      this.#routed.router.connectAll(),
      this.#routedSends.router.connectAll(),
    ]);
    await Promise.all(nodes.map((node) => Promise.all(all.map((script) => script.load(node)))));
  }

  checkLayout(): Promise<void> {
    return checkClusterLayout(this.client, this.keys, this.target);
  }

  waitForSend(
    send: { id: string; sender: string; receiver: string; retried: boolean },
    replicas: number,
    timeoutMs: number,
  ): Promise<number> {
    const { keys } = this;
    // The slots a send writes to (ClusterWrites.sendMessage): the receiver's, the sender's.
    const written = [keys.inbox(send.receiver), keys.conversations(send.sender)];
    const { router } = this.#routedSends;
    return waitOnCluster((key) => router.connectionFor(key), written, replicas, timeoutMs, {
      markFor: send.retried ? (key) => keys.replicationMark(key) : undefined,
    });
  }

  explainReply(): undefined {
    return undefined;
  }

  async close(): Promise<void> {
    await this.#subscriber?.close();
    await Promise.all([
      ...[...new Set([this.#routed, this.#routedSends])].map((routed) => routed.router.close()),
      ...[...new Set([this.client, this.sendClient])].map((c) => closeClient(c)),
    ]);
  }
}
