import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';

/** What `/readyz` reports: ready or not, and the state of each dependency. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, unknown>;
}

/** An express app with `/healthz`, `/readyz` and `/metrics`; mount role routes, then call `finishApp`. */
export function createOpsApp(registry: Registry, readiness: () => Promise<Readiness>): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const r = await readiness();
    res.status(r.ready ? 200 : 503).json({ status: r.ready ? 'ready' : 'not_ready', checks: r.checks });
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('content-type', registry.contentType);
    res.end(await registry.metrics());
  });
  return app;
}

/** Ends the app with a JSON 404 in the OpenAI error shape for every unknown route. */
export function finishApp(app: Express): void {
  app.use((req, res) => {
    res.status(404).json({
      error: {
        message: `Unknown route: ${req.method} ${req.path}`,
        type: 'invalid_request_error',
        param: null,
        code: 'unknown_route',
      },
    });
  });
}

export interface HttpHost {
  server: http.Server;
  port: number;
  /** A URL clients on this machine can use (a wildcard bind address is shown as 127.0.0.1). */
  url: string;
}

/** Listens with the timeouts every Switchyard HTTP server uses. */
export async function listenHttp(
  handler: http.RequestListener,
  host: string,
  port: number,
): Promise<HttpHost> {
  const server = http.createServer(handler);
  // Why 65 s: longer than common load balancers' idle timeout (60 s), so they close first, not us.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // Why 120 s: the time allowed to *receive* a whole request (a 32 MiB body over a slow link), which
  // stops slow-upload clients from pinning sockets; responses, streams included, are not limited by it.
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return { server, port: bound, url: `http://${shown.includes(':') ? `[${shown}]` : shown}:${bound}` };
}

/** Stops accepting, waits for `idle()` (in-flight requests), then closes what is left. */
/**
 * The shutdown's first step: for `ms` the process keeps serving while `/readyz` already says 503 (the
 * caller set its closing flag), so load balancers take it out of rotation before the listener closes.
 */
export function drainDelay(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

export async function closeHttp(server: http.Server, idle: () => Promise<void>): Promise<void> {
  const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await idle();
  server.closeAllConnections();
  await stopped;
}
