/**
 * A load balancer for fault tests: a TCP proxy on 127.0.0.1 that hands each new
 * connection to the next server of its list that accepts it (round robin, no sticky
 * sessions), as a real one in front of several `messenger serve` would. A server that
 * dies takes its connections with it; their clients reconnect through here to another.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Balancer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The servers (host:port) connections go to; change it as servers come and go. */
  backends: string[];
  close(): Promise<void>;
}

export async function startBalancer(backends: string[]): Promise<Balancer> {
  const open = new Set<Socket>();
  let turn = 0;
  const balancer: { backends: string[] } = { backends };
  const pass = (client: Socket, tries: number) => {
    const list = balancer.backends;
    if (tries >= list.length || list.length === 0) {
      client.destroy();
      return;
    }
    const target = list[turn++ % list.length] ?? '';
    const [host = '127.0.0.1', port = '0'] = target.split(':');
    const upstream = connect(Number(port), host);
    let connected = false;
    open.add(upstream);
    upstream.once('connect', () => {
      connected = true;
      client.pipe(upstream).pipe(client);
      client.resume();
      client.on('close', () => upstream.destroy());
    });
    upstream.on('error', () => {});
    upstream.on('close', () => {
      open.delete(upstream);
      // Refused before it connected: the next server; gone after: the client's too.
      if (!connected && !client.destroyed) pass(client, tries + 1);
      else client.destroy();
    });
  };
  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    client.on('error', () => {});
    client.on('close', () => open.delete(client));
    pass(client, 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    get backends() {
      return balancer.backends;
    },
    set backends(list: string[]) {
      balancer.backends = list;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
