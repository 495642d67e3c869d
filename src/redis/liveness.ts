/**
 * Noticing a connection that stops answering but stays open: a host gone, or a NAT or
 * proxy that drops the flow without a word. TCP says nothing for many minutes, node-redis
 * waits for replies forever, and every call times out while a new connection would work
 * at once. So a connection that is up is pinged every second, and one whose ping is not
 * answered within two is reported stuck, to be replaced.
 * @module
 */
import { withDeadline } from './deadline.js';

/** What is watched: a node-redis client (connect.ts opens them; this file needs no more). */
export interface Watched {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  ping(): Promise<unknown>;
}

export interface LivenessOptions {
  /** How often to ping. @defaultValue 1000 */
  everyMs?: number;
  /** How long a ping may take before the connection counts as stuck. @defaultValue 2000 */
  timeoutMs?: number;
  /** Called once for each ping that went unanswered while the connection said it was up. */
  stuck: () => void;
}

const late = () => new Error('no answer to PING');

/** Starts watching; returns the function that stops it. */
export function watchLiveness(client: Watched, options: LivenessOptions): () => void {
  const everyMs = options.everyMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 2000;
  let pinging = false;
  const timer = setInterval(() => {
    // Closed for good (a stuck connection's replacement reopens it at once).
    if (!client.isOpen) clearInterval(timer);
    if (pinging || !client.isReady) return;
    pinging = true;
    withDeadline(client.ping(), timeoutMs, late).then(
      () => {
        pinging = false;
      },
      (error: unknown) => {
        pinging = false;
        // A dropped connection reconnects by itself; only silence on a live one is news.
        if (error instanceof Error && error.message === 'no answer to PING' && client.isReady)
          options.stuck();
      },
    );
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** What a cluster client shows of its masters: each one's connection, once it has one. */
export interface WatchedCluster {
  readonly isOpen: boolean;
  readonly masters: readonly {
    client?: Watched & { destroy(): void; connect(): Promise<unknown> };
  }[];
}

/**
 * Watches a cluster client's connection to each master, as openClient does one
 * client's: one that stops answering is replaced (a new socket for the same client, which
 * the cluster client keeps using). Masters are looked for every `everyMs`, since the
 * cluster client connects to a promoted replica on its own. Returns the function that
 * stops it.
 */
export function watchClusterLiveness(
  cluster: WatchedCluster,
  stuck: (client: { destroy(): void; connect(): Promise<unknown> }) => void,
  everyMs = 1000,
): () => void {
  const watched = new WeakSet<object>();
  const stops: (() => void)[] = [];
  const look = () => {
    if (!cluster.isOpen) return stop();
    for (const { client } of cluster.masters) {
      if (!client || watched.has(client)) continue;
      watched.add(client);
      stops.push(watchLiveness(client, { everyMs, stuck: () => stuck(client) }));
    }
  };
  const timer = setInterval(look, everyMs);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    for (const stopOne of stops.splice(0)) stopOne();
  };
  return stop;
}
