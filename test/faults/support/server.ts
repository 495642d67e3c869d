/**
 * The throwaway redis-server most fault test files disturb: started before the file's
 * tests, stopped after them (resumed first, should a test leave it paused), with plain
 * clients for looking at it and disturbing it, closed before it stops.
 *
 *     const redis = redisForThisFile(['--maxmemory', '2mb']);
 *     it('...', async () => { const m = await messengerIn(redis.url); await redis.raw.dbSize(); });
 */
import { after, before } from 'node:test';
import type { RedisClientType } from 'redis';
import { type RedisServer, startRedisServer } from '../../support/redis-server.js';
import { rawClient } from './faults.js';

export interface FaultServer {
  /** The server process, to signal (SIGKILL, SIGSTOP, ...) or restart. */
  readonly server: RedisServer;
  readonly url: string;
  /** A plain client of the server (connection errors ignored; it reconnects on its own). */
  readonly raw: RedisClientType;
  /**
   * One more plain client, closed with the others: for work that must not wait behind
   * `raw`'s commands, such as a latency probe.
   */
  client(): Promise<RedisClientType>;
}

/**
 * Registers the `before` and `after` hooks of one server for the calling test file;
 * `args` are extra redis-server settings. Its fields can be read inside tests only.
 */
export function redisForThisFile(args: string[] = []): FaultServer {
  let server: RedisServer | undefined;
  let raw: RedisClientType | undefined;
  const clients: RedisClientType[] = [];
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the fault server is started by the before hook');
    return value;
  };
  before(async () => {
    server = await startRedisServer(args);
    raw = await rawClient(server.url);
    clients.push(raw);
  });
  after(async () => {
    // A paused server answers nothing: resumed, so that the clients close and it stops.
    server?.signal('SIGCONT');
    await Promise.all(clients.map((client) => client.close()));
    await server?.stop();
  });
  return {
    get server() {
      return started(server);
    },
    get url() {
      return started(server).url;
    },
    get raw() {
      return started(raw);
    },
    async client() {
      const client = await rawClient(started(server).url);
      clients.push(client);
      return client;
    },
  };
}
