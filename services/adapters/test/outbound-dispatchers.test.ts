import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, isIP, type Server, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { errors as undiciErrors, type Dispatcher } from 'undici';
import { UpstreamError } from '@switchyard/core';
import {
  AddressRefusedError,
  OutboundDispatchers,
  isAddressRefused,
  type HostLookup,
  type OutboundDispatchersOptions,
} from '@switchyard/adapters';
import { startForwardProxy, type ForwardProxy } from '@switchyard/mock-upstream';

// A test-only key pair: a self-signed certificate for upstream.test, localhost and 127.0.0.1 (valid for
// 100 years, so the test never expires), trusted through the `ca` option and nowhere else.
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgebtTt6vKK0rzeBzw
GTyxPKz3wks4BEoxWTR2eSwo/iqhRANCAARNJi/u1o1oA3z0gon2iW/K9uj/FHhx
i5mBQ+fs4uUYKExIZHrvuSh/flvfw5QLFhdjK84RIP36o9pDfmHnLvra
-----END PRIVATE KEY-----
`;
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBsjCCAVigAwIBAgIUHAdbvBM+IbhA1negbo+6gpdk0WYwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNdXBzdHJlYW0udGVzdDAgFw0yNjEyMDEwOTAzMDBaGA8yMTI2
MTEwNzA5MDMwMFowGDEWMBQGA1UEAwwNdXBzdHJlYW0udGVzdDBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABE0mL+7WjWgDfPSCifaJb8r26P8UeHGLmYFD5+zi5Rgo
TEhkeu+5KH9+W9/DlAsWF2MrzhEg/fqj2kN+Yecu+tqjfjB8MB0GA1UdDgQWBBRr
yZUBAA+OWXJb46oFidqzBNHZvzAfBgNVHSMEGDAWgBRryZUBAA+OWXJb46oFidqz
BNHZvzApBgNVHREEIjAggg11cHN0cmVhbS50ZXN0gglsb2NhbGhvc3SHBH8AAAEw
DwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEA8PNNwRy1oidkWfHE
UYubcGXMXu4uHmg9mlyf4MOvQhYCIHVSaIW2K/TS9SH2O/45rm8g29LsYm4d8YlT
2WPn72Yf
-----END CERTIFICATE-----
`;

const PROXY_USER = 'relay';
const PROXY_PASSWORD = 'p@ss:w/rd-secret';
const ENCODED_CREDENTIALS = `${PROXY_USER}:${encodeURIComponent(PROXY_PASSWORD)}`;
// Why 300 ms: short enough that a hung handshake ends the test quickly, long enough for loopback connects.
const SHORT_CONNECT_MS = 300;
const CONNECT_MS = 5_000;

/** What the fake upstream saw of one request. */
interface Seen {
  path: string;
  host: string | undefined;
  servername: string | null;
}

interface Upstream {
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function startUpstream(tls: boolean): Promise<Upstream> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const servername = tls ? ((req.socket as TLSSocket).servername as string | false) || null : null;
    seen.push({ path: req.url ?? '', host: req.headers.host, servername });
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ ok: true, path: req.url }));
  };
  const server = tls
    ? createHttpsServer({ key: TEST_KEY, cert: TEST_CERT }, handler)
    : createHttpServer(handler);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await listen(server);
  return {
    port,
    seen,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A "proxy" that accepts TCP connections and never says a word. */
async function startSilentListener(): Promise<{
  port: number;
  accepted: () => number;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createNetServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => {});
  });
  const port = await listen(server);
  return {
    port,
    accepted: () => accepted,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Names the tests resolve, and every name looked up. Unknown names fail like node:dns does. */
const HOSTS: Readonly<Record<string, string[]>> = {
  'upstream.test': ['127.0.0.1'],
  'metadata.test': ['169.254.169.254'],
  'mixed.test': ['127.0.0.1', '10.0.0.7'],
};
/** The names the test proxies resolve themselves (socks5h and CONNECT hand them the name). */
const HOSTS_FOR_PROXY: Readonly<Record<string, string>> = { 'upstream.test': '127.0.0.1' };
const lookedUp: string[] = [];
const lookup: HostLookup = async (name) => {
  lookedUp.push(name);
  const addresses = HOSTS[name];
  if (addresses === undefined)
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: isIP(address) }));
};

async function get(
  dispatcher: Dispatcher,
  origin: string,
  path = '/v1/models',
): Promise<{ status: number; body: unknown }> {
  const res = await dispatcher.request({ origin, path, method: 'GET' });
  return { status: res.statusCode, body: await res.body.json() };
}

/** Every message along an error's cause chain, to check that no secret is in any of them. */
function messagesOf(err: unknown): string {
  const out: string[] = [];
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) out.push(e.message);
  return out.join(' | ');
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the request to fail');
}

let http: Upstream;
let https: Upstream;
const open: OutboundDispatchers[] = [];
const proxies: ForwardProxy[] = [];

function dispatchers(opts: Partial<OutboundDispatchersOptions> = {}): OutboundDispatchers {
  const d = new OutboundDispatchers({ policy: { allow: ['loopback'] }, lookup, ca: TEST_CERT, ...opts });
  open.push(d);
  return d;
}

async function proxy(...args: Parameters<typeof startForwardProxy>): Promise<ForwardProxy> {
  const p = await startForwardProxy(...args);
  proxies.push(p);
  return p;
}

function withCredentials(proxyUrl: string, credentials = ENCODED_CREDENTIALS): string {
  return proxyUrl.replace('://', `://${credentials}@`);
}

beforeAll(async () => {
  http = await startUpstream(false);
  https = await startUpstream(true);
});

afterAll(async () => {
  await Promise.all([http.close(), https.close()]);
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  lookedUp.length = 0;
});

describe('OutboundDispatchers, direct', () => {
  it('when loopback is allowed, then a request to 127.0.0.1 succeeds', async () => {
    const d = dispatchers().dispatcherFor({ proxyUrl: null, connectTimeoutMs: CONNECT_MS });
    const res = await get(d, `http://127.0.0.1:${http.port}`);
    expect(res).toEqual({ status: 200, body: { ok: true, path: '/v1/models' } });
  });

  it('when nothing non-public is allowed, then a request to 127.0.0.1 is refused before any connection', async () => {
    const before = http.seen.length;
    const d = dispatchers({ policy: { allow: [] } }).dispatcherFor({
      proxyUrl: null,
      connectTimeoutMs: CONNECT_MS,
    });
    const err = await rejectionOf(get(d, `http://127.0.0.1:${http.port}`));
    expect(isAddressRefused(err)).toBe(true);
    expect(err).toBeInstanceOf(AddressRefusedError);
    expect(err).toMatchObject({
      code: 'upstream_address_refused',
      role: 'upstream',
      addressClass: 'loopback',
    });
    expect((err as AddressRefusedError).retryable).toBe(true);
    expect(http.seen.length).toBe(before);
  });

  it('when a name resolves to the metadata address, then it is refused even with loopback and private allowed', async () => {
    const d = dispatchers({ policy: { allow: ['loopback', 'private'] } }).dispatcherFor({
      proxyUrl: null,
      connectTimeoutMs: CONNECT_MS,
    });
    const err = await rejectionOf(get(d, 'http://metadata.test'));
    expect(isAddressRefused(err)).toBe(true);
    expect(err).toMatchObject({
      host: 'metadata.test',
      address: '169.254.169.254',
      addressClass: 'metadata',
    });
    // The client-facing message names the class only, never the host or its address.
    expect((err as Error).message).not.toContain('169.254');
    expect((err as Error).message).not.toContain('metadata.test');
  });

  it('when a name resolves to an allowed and a refused address, then it is refused', async () => {
    const d = dispatchers().dispatcherFor({ proxyUrl: null, connectTimeoutMs: CONNECT_MS });
    const err = await rejectionOf(get(d, `http://mixed.test:${http.port}`));
    expect(isAddressRefused(err)).toBe(true);
    expect(err).toMatchObject({ address: '10.0.0.7', addressClass: 'private' });
  });

  it('when a name is admitted, then the connection goes to the checked address with the name as Host and TLS server name', async () => {
    const d = dispatchers().dispatcherFor({ proxyUrl: null, connectTimeoutMs: CONNECT_MS });
    const res = await get(d, `https://upstream.test:${https.port}`, '/pinned');
    expect(res.status).toBe(200);
    expect(https.seen.at(-1)).toEqual({
      path: '/pinned',
      host: `upstream.test:${https.port}`,
      servername: 'upstream.test',
    });
    expect(lookedUp).toEqual(['upstream.test']);
  });

  it('when the refusal is wrapped in causes or an AggregateError, then isAddressRefused still sees it', () => {
    const refused = new AddressRefusedError('upstream', 'x', '0.0.0.0', 'unspecified');
    expect(isAddressRefused(new Error('outer', { cause: new Error('mid', { cause: refused }) }))).toBe(true);
    expect(isAddressRefused(new AggregateError([new Error('a'), refused]))).toBe(true);
    expect(isAddressRefused(new Error('connect ECONNREFUSED'))).toBe(false);
    expect(isAddressRefused(null)).toBe(false);
  });
});

describe('OutboundDispatchers, HTTP proxy', () => {
  it('when the proxy needs no credentials, then the request is tunnelled through it', async () => {
    const p = await proxy({ kind: 'http' });
    const d = dispatchers().dispatcherFor({ proxyUrl: p.url, connectTimeoutMs: CONNECT_MS });
    const res = await get(d, `http://127.0.0.1:${http.port}`, '/via-http-proxy');
    expect(res).toEqual({ status: 200, body: { ok: true, path: '/via-http-proxy' } });
    expect(p.connections.map((c) => c.target)).toEqual([`127.0.0.1:${http.port}`]);
  });

  it('when the proxy needs credentials and the URL has them, then an https upstream is reached through CONNECT', async () => {
    const p = await proxy({
      kind: 'http',
      auth: { username: PROXY_USER, password: PROXY_PASSWORD },
      hosts: HOSTS_FOR_PROXY,
    });
    const d = dispatchers().dispatcherFor({ proxyUrl: withCredentials(p.url), connectTimeoutMs: CONNECT_MS });
    const res = await get(d, `https://upstream.test:${https.port}`, '/tls-via-http-proxy');
    expect(res.status).toBe(200);
    expect(p.connections.map((c) => c.target)).toEqual([`upstream.test:${https.port}`]);
    expect(p.authFailures).toBe(0);
    expect(https.seen.at(-1)?.servername).toBe('upstream.test');
    // The upstream's address is the proxy's business: the relay did not resolve the name.
    expect(lookedUp).toEqual([]);
  });

  it('when the proxy password is wrong, then the request rejects and the password is in no error message', async () => {
    const p = await proxy({ kind: 'http', auth: { username: PROXY_USER, password: PROXY_PASSWORD } });
    const d = dispatchers().dispatcherFor({
      proxyUrl: withCredentials(p.url, `${PROXY_USER}:wrong-secret`),
      connectTimeoutMs: CONNECT_MS,
    });
    const err = await rejectionOf(get(d, `http://127.0.0.1:${http.port}`));
    expect(p.authFailures).toBe(1);
    expect(isAddressRefused(err)).toBe(false);
    expect(messagesOf(err)).toContain('407');
    expect(messagesOf(err)).not.toContain('wrong-secret');
  });

  it("when the proxy's own address is not allowed, then the request is refused naming the proxy", async () => {
    const p = await proxy({ kind: 'http' });
    const d = dispatchers({ policy: { allow: [] } }).dispatcherFor({
      proxyUrl: p.url,
      connectTimeoutMs: CONNECT_MS,
    });
    const err = await rejectionOf(get(d, 'http://api.example.com'));
    expect(isAddressRefused(err)).toBe(true);
    expect(err).toMatchObject({ role: 'proxy', addressClass: 'loopback' });
    expect(p.connections).toEqual([]);
  });

  it('when the proxy accepts the connection and never answers, then the request rejects within the connect timeout', async () => {
    const silent = await startSilentListener();
    try {
      const d = dispatchers().dispatcherFor({
        proxyUrl: `http://127.0.0.1:${silent.port}`,
        connectTimeoutMs: SHORT_CONNECT_MS,
      });
      const started = Date.now();
      const err = await rejectionOf(get(d, `http://127.0.0.1:${http.port}`));
      expect(err).toBeInstanceOf(undiciErrors.ConnectTimeoutError);
      expect(silent.accepted()).toBe(1);
      // Far below undici's and the socks client's own defaults (10 s, 30 s): the timeout given bounded it.
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await silent.close();
    }
  }, 15_000);
});

describe('OutboundDispatchers, SOCKS5 proxy', () => {
  it('when socks5h with credentials, then the name goes to the proxy and the request goes through', async () => {
    const p = await proxy({
      kind: 'socks5',
      auth: { username: PROXY_USER, password: PROXY_PASSWORD },
      hosts: HOSTS_FOR_PROXY,
    });
    const d = dispatchers().dispatcherFor({
      proxyUrl: withCredentials(p.url.replace('socks5:', 'socks5h:')),
      connectTimeoutMs: CONNECT_MS,
    });
    const res = await get(d, `http://upstream.test:${http.port}`, '/via-socks5h');
    expect(res).toEqual({ status: 200, body: { ok: true, path: '/via-socks5h' } });
    expect(p.connections.map((c) => c.target)).toEqual([`upstream.test:${http.port}`]);
    expect(p.authFailures).toBe(0);
    expect(lookedUp).toEqual([]);
  });

  it('when socks5h to an https upstream, then TLS runs inside the tunnel with the name as server name', async () => {
    const p = await proxy({ kind: 'socks5', hosts: HOSTS_FOR_PROXY });
    const d = dispatchers().dispatcherFor({
      proxyUrl: p.url.replace('socks5:', 'socks5h:'),
      connectTimeoutMs: CONNECT_MS,
    });
    const res = await get(d, `https://upstream.test:${https.port}`, '/tls-via-socks');
    expect(res.status).toBe(200);
    expect(https.seen.at(-1)).toMatchObject({ path: '/tls-via-socks', servername: 'upstream.test' });
    expect(p.connections.map((c) => c.target)).toEqual([`upstream.test:${https.port}`]);
  });

  it('when socks5 (local DNS), then the relay resolves the name and the proxy gets the checked address', async () => {
    const p = await proxy({ kind: 'socks5', auth: { username: PROXY_USER, password: PROXY_PASSWORD } });
    const d = dispatchers().dispatcherFor({ proxyUrl: withCredentials(p.url), connectTimeoutMs: CONNECT_MS });
    const res = await get(d, `http://upstream.test:${http.port}`, '/via-socks5');
    expect(res.status).toBe(200);
    expect(p.connections.map((c) => c.target)).toEqual([`127.0.0.1:${http.port}`]);
    expect(lookedUp).toEqual(['upstream.test']);
  });

  it('when socks5 (local DNS) and the name resolves to the metadata address, then it is refused before the proxy is asked', async () => {
    const p = await proxy({ kind: 'socks5' });
    const d = dispatchers({ policy: { allow: ['loopback', 'private'] } }).dispatcherFor({
      proxyUrl: p.url,
      connectTimeoutMs: CONNECT_MS,
    });
    const err = await rejectionOf(get(d, 'http://metadata.test'));
    expect(isAddressRefused(err)).toBe(true);
    expect(err).toMatchObject({ role: 'upstream', addressClass: 'metadata' });
    expect(p.connections).toEqual([]);
  });

  it('when the SOCKS password is wrong, then the request rejects and the password is in no error message', async () => {
    const p = await proxy({ kind: 'socks5', auth: { username: PROXY_USER, password: PROXY_PASSWORD } });
    const d = dispatchers().dispatcherFor({
      proxyUrl: withCredentials(p.url, `${PROXY_USER}:wrong-secret`),
      connectTimeoutMs: CONNECT_MS,
    });
    const err = await rejectionOf(get(d, `http://127.0.0.1:${http.port}`));
    expect(p.authFailures).toBe(1);
    expect(p.connections).toEqual([]);
    expect(messagesOf(err)).not.toContain('wrong-secret');
  });

  it('when the proxy refuses the target, then the request rejects with the SOCKS failure', async () => {
    const p = await proxy({ kind: 'socks5', hosts: { 'elsewhere.test': '192.0.2.10' } });
    const d = dispatchers().dispatcherFor({
      proxyUrl: p.url.replace('socks5:', 'socks5h:'),
      connectTimeoutMs: CONNECT_MS,
    });
    const err = await rejectionOf(get(d, 'http://elsewhere.test'));
    expect(isAddressRefused(err)).toBe(false);
    expect(messagesOf(err)).toMatch(/socks/i);
  });

  it('when the proxy accepts the connection and never answers, then the request rejects within the connect timeout', async () => {
    const silent = await startSilentListener();
    try {
      const d = dispatchers().dispatcherFor({
        proxyUrl: `socks5h://127.0.0.1:${silent.port}`,
        connectTimeoutMs: SHORT_CONNECT_MS,
      });
      const started = Date.now();
      const err = await rejectionOf(get(d, `http://upstream.test:${http.port}`));
      expect(err).toBeInstanceOf(undiciErrors.ConnectTimeoutError);
      expect(silent.accepted()).toBe(1);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await silent.close();
    }
  }, 15_000);
});

describe('OutboundDispatchers, cache', () => {
  it('when the same target is asked for twice, then the same dispatcher comes back; another timeout or proxy gets another', () => {
    const d = dispatchers();
    const direct = d.dispatcherFor({ proxyUrl: null, connectTimeoutMs: 1_000 });
    expect(d.dispatcherFor({ proxyUrl: null, connectTimeoutMs: 1_000 })).toBe(direct);
    expect(d.dispatcherFor({ proxyUrl: null, connectTimeoutMs: 2_000 })).not.toBe(direct);
    const proxied = d.dispatcherFor({ proxyUrl: 'http://127.0.0.1:3128', connectTimeoutMs: 1_000 });
    expect(proxied).not.toBe(direct);
    expect(d.dispatcherFor({ proxyUrl: 'http://127.0.0.1:3128', connectTimeoutMs: 1_000 })).toBe(proxied);
  });

  it('when more targets are used than the cap, then the least recently used dispatcher is closed and replaced', async () => {
    const d = dispatchers({ maxDispatchers: 2 });
    const a = d.dispatcherFor({ proxyUrl: null, connectTimeoutMs: 1_001 });
    const b = d.dispatcherFor({ proxyUrl: null, connectTimeoutMs: 1_002 });
    expect(d.dispatcherFor({ proxyUrl: null, connectTimeoutMs: 1_001 })).toBe(a); // a is now the most recent
    d.dispatcherFor({ proxyUrl: null, connectTimeoutMs: 1_003 }); // evicts b
    expect(d.dispatcherFor({ proxyUrl: null, connectTimeoutMs: 1_001 })).toBe(a);
    const err = await rejectionOf(get(b, `http://127.0.0.1:${http.port}`));
    expect(err).toBeInstanceOf(undiciErrors.ClientClosedError);
    expect(d.dispatcherFor({ proxyUrl: null, connectTimeoutMs: 1_002 })).not.toBe(b);
  });

  it('when a proxy URL is unusable, then dispatcherFor throws upstream_proxy_invalid without the URL in the message', () => {
    const d = dispatchers();
    for (const proxyUrl of [
      'ftp://user:hunter2@proxy.test',
      'not a url hunter2',
      'socks4://user:hunter2@proxy.test',
    ]) {
      let thrown: unknown;
      try {
        d.dispatcherFor({ proxyUrl, connectTimeoutMs: 1_000 });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(UpstreamError);
      expect(thrown).toMatchObject({ code: 'upstream_proxy_invalid' });
      expect(messagesOf(thrown)).not.toContain('hunter2');
    }
  });

  it('when closed, then dispatcherFor throws', async () => {
    const d = new OutboundDispatchers({ policy: { allow: [] } });
    d.dispatcherFor({ proxyUrl: null, connectTimeoutMs: 1_000 });
    await d.close();
    expect(() => d.dispatcherFor({ proxyUrl: null, connectTimeoutMs: 1_000 })).toThrow(/closed/);
  });
});
