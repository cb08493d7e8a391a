import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy a test controls, between a client and the shared NATS server: `cut()` drops every
 * connection and refuses new ones (as if NATS went away), `restore()` lets connections through again.
 * The shared server itself is never stopped.
 */
export class NatsTcpProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Listens on an ephemeral port on 127.0.0.1 and forwards to `target` (`nats://host:port`). */
  static async start(target: string): Promise<NatsTcpProxy> {
    const url = new URL(target);
    const proxy: NatsTcpProxy = new NatsTcpProxy(
      createServer((client) => {
        if (proxy.#cut) {
          client.destroy();
          return;
        }
        const upstream = connectTcp(Number(url.port || 4222), url.hostname);
        proxy.#track(client);
        proxy.#track(upstream);
        client.pipe(upstream);
        upstream.pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      }),
    );
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** The URL clients connect to instead of the real server. */
  get url(): string {
    return `nats://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  cut(): void {
    this.#cut = true;
    for (const socket of this.#sockets) socket.destroy();
  }

  restore(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
  }
}
