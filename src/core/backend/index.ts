/**
 * Opens the backend a target names: one Redis or a Redis Cluster, with a second
 * connection for sends when they wait for replicas.
 * @module
 */
import {
  describeCluster,
  openClient,
  openCluster,
  type RedisConnection,
  redactUrl,
} from '../../redis/connect.js';
import type { Target } from '../../redis/target.js';
import { Keys } from '../keys.js';
import type { Backend } from './backend.js';
import { ClusterBackend } from './cluster.js';
import { StandaloneBackend } from './standalone.js';

export type { Backend } from './backend.js';
export type { SendReply, Writes } from './writes.js';

export interface BackendOptions {
  namespace: string | undefined;
  connectTimeoutMs: number;
  /** Sends get a connection of their own (with waitForReplicas: see Backend.sends). */
  separateSends: boolean;
  onConnectionError?: (error: Error) => void;
}

/** Connects; rejects with RedisUnavailableError or RedisRefusedError, leaving nothing open. */
export async function openBackend(target: Target, options: BackendOptions): Promise<Backend> {
  const { connectTimeoutMs } = options;
  const onError = (error: Error) => options.onConnectionError?.(error);
  const pair = async <T extends RedisConnection>(open: () => Promise<T>): Promise<[T, T]> => {
    const client = await open();
    try {
      return [client, options.separateSends ? await open() : client];
    } catch (error) {
      client.destroy();
      throw error;
    }
  };
  if (target.kind === 'standalone') {
    const open = () => openClient({ url: target.url, connectTimeoutMs, onError });
    const [client, sendClient] = await pair(open);
    const keys = new Keys(options.namespace, 'standalone');
    // The subscriber watches its connection itself (it must subscribe again when stuck).
    const openForSubscriber = () =>
      openClient({ url: target.url, connectTimeoutMs, onError, watch: false });
    return new StandaloneBackend(
      keys,
      client,
      sendClient,
      redactUrl(target.url),
      openForSubscriber,
    );
  }
  const [client, sendClient] = await pair(() =>
    openCluster({ urls: target.urls, connectTimeoutMs, onError }),
  );
  const keys = new Keys(options.namespace, 'cluster');
  return new ClusterBackend(keys, client, sendClient, describeCluster(target.urls));
}
