/**
 * A TCP proxy in front of one Redis that can fall silent: after `silence()`, every
 * connection it holds stays open but nothing more crosses it, either way (a host gone, a
 * NAT or proxy that drops the flow without closing it). Connections made after that pass
 * as usual, as a new connection through a healed network would.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface SilentProxy {
  url: string;
  /** From now on, the connections already open carry nothing, and are not closed. */
  silence(): void;
  close(): Promise<void>;
}

export async function startSilentProxy(targetPort: number): Promise<SilentProxy> {
  const sockets = new Set<Socket>();
  const silenced = new WeakSet<Socket>();
  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk) => {
      if (!silenced.has(from) && to.writable) to.write(chunk);
    });
    from.on('close', () => {
      if (!silenced.has(from)) to.destroy();
    });
    from.on('error', () => to.destroy());
  };
  const server: Server = createServer((client) => {
    const upstream = createConnection(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    silence: () => {
      for (const socket of sockets) silenced.add(socket);
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
