import { createConnection, createServer, type Socket } from 'node:net';

/** A TCP proxy between a client under test and a real server, which the test can cut and restore. */
export interface TcpProxy {
  /** The local port clients connect to (127.0.0.1). */
  readonly port: number;
  /** Destroys every open connection and refuses new ones (accepted, then closed at once). */
  cut(): void;
  /** Lets new connections through again. */
  restore(): void;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts a proxy on an ephemeral port that forwards to `targetHost:targetPort`, so outage tests can
 * take a shared service away from one client without stopping the service itself.
 */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let passing = true;

  const server = createServer((client) => {
    if (!passing) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: targetHost, port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('TCP proxy has no port');

  const destroyAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  return {
    port: address.port,
    cut() {
      passing = false;
      destroyAll();
    },
    restore() {
      passing = true;
    },
    close() {
      passing = false;
      destroyAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
