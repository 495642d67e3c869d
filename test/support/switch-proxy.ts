/**
 * A TCP proxy in front of messenger servers, as a load balancer or a network between a
 * client and them: `switchTo` sends new connections to another instance (those open stay
 * where they are), `cut` drops every connection and refuses new ones until `heal` (a
 * network gone, then back).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface SwitchProxy {
  /** http://127.0.0.1:<port>: the address clients are given. */
  url: string;
  switchTo(port: number): void;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startSwitchProxy(firstPort: number): Promise<SwitchProxy> {
  let target = firstPort;
  let cut = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = createConnection(target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    switchTo: (next) => {
      target = next;
    },
    cut: () => {
      cut = true;
      for (const socket of sockets) socket.destroy();
    },
    heal: () => {
      cut = false;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
