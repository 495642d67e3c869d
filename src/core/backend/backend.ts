/**
 * What differs between one Redis and a Redis Cluster, built once when the messenger
 * connects (./index.ts), so that nothing else asks which it runs on: the key layout, the
 * connections, the multi-key writes, reading a hash that may hold bad data, publishing on
 * a user's channel, the shared subscriber, loading scripts, waiting for replicas, and
 * what a refusal from Redis means there.
 * @module
 */
import type { ErrorReply } from 'redis';
import type { MessengerError } from '../../errors.js';
import type { RedisConnection } from '../../redis/connect.js';
import type { Subscriber } from '../../redis/subscriber.js';
import type { Keys } from '../keys.js';
import type { Message } from '../types.js';
import type { StepRunner, Writes } from './writes.js';

export interface Backend {
  /** Every key name, in this backend's layout. */
  readonly keys: Keys;
  /** The connection reads and writes go through. */
  readonly client: RedisConnection;
  /** The multi-key writes on `client`. */
  readonly writes: Writes;
  /**
   * The writes of a send: on a connection of their own with `waitForReplicas` (WAIT holds
   * up every command behind it on its connection, and reads must not wait for a slow
   * replica); otherwise `writes`.
   */
  readonly sends: Writes;
  /** Names the Redis in error messages, with no password. */
  readonly target: string;
  /**
   * The `fields` of the hash at `key`; all null when the key is missing or is not a hash
   * (bad data another program wrote), so that a reader skips that entry.
   */
  readHash(key: string, fields: readonly string[]): Promise<(string | null)[]>;
  /**
   * The user's newest unseen messages, newest first, at most `wanted`, found in bounded
   * steps each run through `step` (a deadline each), correcting on the way what they
   * find wrong (../unseen.ts); `senders` are those the unread counters name.
   */
  listUnseen(
    userId: string,
    senders: readonly string[],
    wanted: number,
    step: StepRunner,
  ): Promise<Message[]>;
  /** Publishes on a channel (a sharded channel on a cluster). */
  publish(channel: string, message: string): Promise<unknown>;
  /** The one subscriber every subscription shares, opened on first use. */
  subscriber(): Subscriber;
  /** Loads every script, so that first calls need not send their source. */
  loadScripts(): Promise<void>;
  /**
   * Rejects with ClusterLayoutError when the keys are in a layout this version does not
   * use (a Redis Cluster written by an older version: ../cluster-layout.ts).
   */
  checkLayout(): Promise<void>;
  /**
   * Waits until `replicas` replicas have a send's writes, or `timeoutMs` passes; returns
   * how many have them (the fewest, over the nodes it wrote to). A send `retried` stored
   * nothing now: it writes a mark first, so that WAIT waits for the message's own writes
   * (redis/replicas.ts says why).
   */
  waitForSend(
    send: { id: string; sender: string; receiver: string; retried: boolean },
    replicas: number,
    timeoutMs: number,
  ): Promise<number>;
  /** What an error reply means on this backend, when it says more than the reply itself. */
  explainReply(error: ErrorReply): MessengerError | undefined;
  /** Closes the subscriber and every connection. */
  close(): Promise<void>;
}
