import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/** The shared test TCP proxy, addressed as a NATS server URL. */
export const NatsTcpProxy = {
  /** Listens on an ephemeral port on 127.0.0.1 and forwards to `target` (`nats://host:port`). */
  async start(target: string): Promise<TcpProxy & { url: string }> {
    const u = new URL(target);
    const proxy = await startTcpProxy(u.hostname, Number(u.port || 4222));
    return Object.assign(proxy, { url: `nats://127.0.0.1:${proxy.port}` });
  },
};
