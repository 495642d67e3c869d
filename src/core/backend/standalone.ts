/**
 * The backend on one Redis: the original program's key names, each multi-key write one
 * Lua script, plain pub/sub, one subscriber connection.
 * @module
 */
import { ErrorReply } from 'redis';
import { RedisCommandError } from '../../errors.js';
import { closeClient, type RedisClient } from '../../redis/connect.js';
import { waitOnServer } from '../../redis/replicas.js';
import { ChannelSubscriber, type Subscriber } from '../../redis/subscriber.js';
import type { Keys } from '../keys.js';
import { scripts } from '../scripts.js';
import type { Message } from '../types.js';
import { listUnseenInInbox } from '../unseen.js';
import type { Backend } from './backend.js';
import { StandaloneWrites } from './standalone-writes.js';
import type { StepRunner, Writes } from './writes.js';

export class StandaloneBackend implements Backend {
  readonly writes: Writes;
  readonly sends: Writes;
  #subscriber: Subscriber | undefined;

  /** `sendClient` is `client` unless sends wait for replicas; `connect` opens one more connection. */
  constructor(
    readonly keys: Keys,
    readonly client: RedisClient,
    private readonly sendClient: RedisClient,
    readonly target: string,
    private readonly connect: () => Promise<RedisClient>,
  ) {
    this.writes = new StandaloneWrites(client, keys);
    this.sends = sendClient === client ? this.writes : new StandaloneWrites(sendClient, keys);
  }

  async readHash(key: string, fields: readonly string[]): Promise<(string | null)[]> {
    try {
      // A plain HMGET costs a third of node-redis's typed command (docs/performance.md).
      return (await this.client.sendCommand(['HMGET', key, ...fields])) as (string | null)[];
    } catch (error) {
      if (error instanceof ErrorReply && error.message.startsWith('WRONGTYPE'))
        return fields.map(() => null);
      throw error;
    }
  }

  listUnseen(
    userId: string,
    _senders: readonly string[],
    wanted: number,
    step: StepRunner,
  ): Promise<Message[]> {
    return listUnseenInInbox(this, this.client, userId, wanted, step);
  }

  publish(channel: string, message: string): Promise<unknown> {
    return this.client.publish(channel, message);
  }

  subscriber(): Subscriber {
    this.#subscriber ??= new ChannelSubscriber(this.connect);
    return this.#subscriber;
  }

  async loadScripts(): Promise<void> {
    // Not the cluster's one-node send: its flags line is Redis 7's, which one Redis need not be.
    const used = Object.values(scripts).filter((script) => script !== scripts.sendOnOneNode);
    await Promise.all(used.map((script) => script.load(this.client)));
  }

  /** One Redis has one layout, the seed's. */
  async checkLayout(): Promise<void> {}

  waitForSend(
    send: { id: string; receiver: string; retried: boolean },
    replicas: number,
    timeoutMs: number,
  ): Promise<number> {
    const mark = send.retried
      ? this.keys.replicationMark(this.keys.message(send.id, send.receiver))
      : undefined;
    return waitOnServer(this.sendClient, replicas, timeoutMs, mark);
  }

  explainReply(error: ErrorReply): RedisCommandError | undefined {
    if (!/^(CROSSSLOT|MOVED|ASK)\b/.test(error.message)) return undefined;
    // Connected as to one Redis, to a node of a Redis Cluster.
    return new RedisCommandError(
      'this Redis is a node of a Redis Cluster: connect with cluster (the CLI: --cluster, or REDIS_CLUSTER)',
      { cause: error },
    );
  }

  async close(): Promise<void> {
    await this.#subscriber?.close();
    await Promise.all([...new Set([this.client, this.sendClient])].map((c) => closeClient(c)));
  }
}
