import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidRequestError, type AddressClass } from '@switchyard/core';
import { ImageFetcher, type HostLookup, type ImageFetcherOptions } from './image-fetcher.js';

// A 1×1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const LIMIT = 1024;

interface TestServer {
  server: Server;
  port: number;
  connections: number;
  requests: Array<{ url: string; host: string | undefined }>;
  /** Resolves with the next request the server receives. */
  nextRequest(): Promise<IncomingMessage>;
}

async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  host = '127.0.0.1',
  port = 0,
): Promise<TestServer> {
  const server = createServer();
  const t: TestServer = {
    server,
    port: 0,
    connections: 0,
    requests: [],
    nextRequest: () => once(server, 'request').then(([req]) => req as IncomingMessage),
  };
  server.on('connection', () => t.connections++);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    t.requests.push({ url: req.url ?? '', host: req.headers.host });
    handler(req, res);
  });
  server.listen(port, host);
  await once(server, 'listening');
  t.port = (server.address() as AddressInfo).port;
  return t;
}

async function stopServer(t: TestServer): Promise<void> {
  t.server.closeAllConnections();
  t.server.close();
  await once(t.server, 'close');
}

function imageRoutes(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const chain = /^\/chain\/(\d+)$/.exec(url.pathname);
  if (chain !== null) {
    const n = Number(chain[1]);
    if (n > 0) {
      res.writeHead(302, { location: `/chain/${n - 1}` }).end();
      return;
    }
  }
  switch (chain === null ? url.pathname : '/img.png') {
    case '/img.png':
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG.length }).end(PNG);
      return;
    case '/photo.jpg':
      res
        .writeHead(200, { 'content-type': 'IMAGE/JPEG; charset=binary' })
        .end(Buffer.from([0xff, 0xd8, 0xff]));
      return;
    case '/redirect':
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
      return;
    case '/loop':
      res.writeHead(307, { location: '/loop' }).end();
      return;
    case '/exact':
      res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(LIMIT, 7));
      return;
    case '/big-with-length':
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': LIMIT * 1000 });
      res.write(Buffer.alloc(16));
      return; // never ends: only the header can refuse it
    case '/big-stream':
      res.writeHead(200, { 'content-type': 'image/png' });
      res.write(Buffer.alloc(LIMIT + 1));
      return; // never ends: only a limit enforced while streaming can refuse it
    case '/html':
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
      return;
    case '/missing':
      res.writeHead(404, { 'content-type': 'image/png' }).end(PNG);
      return;
    case '/gzip':
      res.writeHead(200, { 'content-type': 'image/png', 'content-encoding': 'gzip' }).end(PNG);
      return;
    case '/stall-body':
      res.writeHead(200, { 'content-type': 'image/png' });
      res.write(PNG.subarray(0, 8));
      return;
    case '/slow':
      return;
    default:
      res.writeHead(404).end();
  }
}

/** A DNS stand-in: names map to address lists; unknown names fail like ENOTFOUND. */
function fakeDns(table: Record<string, string[]>): HostLookup & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (hostname: string) => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (addresses === undefined)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(lookup, { calls });
}

const admitLoopback = (cls: AddressClass): boolean => cls === 'public' || cls === 'loopback';

async function refusal(p: Promise<unknown>): Promise<InvalidRequestError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidRequestError);
  return err as InvalidRequestError;
}

/** Counts every outbound TCP socket the process opens and every connection undici starts. */
const outbound = { sockets: 0, undiciConnects: 0 };
const onSocket = () => outbound.sockets++;
const onConnect = () => outbound.undiciConnects++;

let srv: TestServer;
const dns = fakeDns({
  localhost: ['127.0.0.1'],
  'metadata.google.internal': ['169.254.169.254'],
  'mixed.example': ['93.184.215.14', '10.0.0.5'],
  'images.example': ['127.0.0.1'],
});

function fetcher(opts: ImageFetcherOptions = {}): ImageFetcher {
  return new ImageFetcher({ lookup: dns, maxBytes: LIMIT, timeoutMs: 2_000, ...opts });
}

const signal = () => new AbortController().signal;

beforeAll(async () => {
  srv = await startServer(imageRoutes);
  subscribe('net.client.socket', onSocket);
  subscribe('undici:client:beforeConnect', onConnect);
});

afterAll(async () => {
  unsubscribe('net.client.socket', onSocket);
  unsubscribe('undici:client:beforeConnect', onConnect);
  await stopServer(srv);
});

beforeEach(() => {
  srv.connections = 0;
  srv.requests.length = 0;
  outbound.sockets = 0;
  outbound.undiciConnects = 0;
  dns.calls.length = 0;
});

afterEach(() => {
  srv.server.closeAllConnections();
});

describe('image fetcher: admitted fetches', () => {
  it('when the policy admits loopback, then the image arrives with its media type and bytes', async () => {
    const img = await fetcher({ allow: admitLoopback }).fetchImage(
      `http://127.0.0.1:${srv.port}/img.png`,
      signal(),
    );
    expect(img.mediaType).toBe('image/png');
    expect(Buffer.from(img.data, 'base64').equals(PNG)).toBe(true);
    expect(srv.requests).toEqual([{ url: '/img.png', host: `127.0.0.1:${srv.port}` }]);
  });

  it('when the content type has parameters and capitals, then the media type is its lower-case essence', async () => {
    const img = await fetcher({ allow: admitLoopback }).fetchImage(
      `http://127.0.0.1:${srv.port}/photo.jpg`,
      signal(),
    );
    expect(img).toEqual({
      mediaType: 'image/jpeg',
      data: Buffer.from([0xff, 0xd8, 0xff]).toString('base64'),
    });
  });

  it('when a name resolves to an admitted address, then the request carries the name as Host', async () => {
    const img = await fetcher({ allow: admitLoopback }).fetchImage(
      `http://images.example:${srv.port}/img.png`,
      signal(),
    );
    expect(img.mediaType).toBe('image/png');
    expect(dns.calls).toEqual(['images.example']);
    expect(srv.requests).toEqual([{ url: '/img.png', host: `images.example:${srv.port}` }]);
  });

  it('when the body is exactly the size limit, then it is accepted', async () => {
    const img = await fetcher({ allow: admitLoopback }).fetchImage(
      `http://127.0.0.1:${srv.port}/exact`,
      signal(),
    );
    expect(Buffer.from(img.data, 'base64').length).toBe(LIMIT);
  });

  it('when the URL redirects as many times as allowed, then the image at the end arrives', async () => {
    const img = await fetcher({ allow: admitLoopback, maxRedirects: 3 }).fetchImage(
      `http://127.0.0.1:${srv.port}/chain/3`,
      signal(),
    );
    expect(Buffer.from(img.data, 'base64').equals(PNG)).toBe(true);
    expect(srv.requests.map((r) => r.url)).toEqual(['/chain/3', '/chain/2', '/chain/1', '/chain/0']);
  });

  it('when the URL has a fragment, then the fragment is not sent', async () => {
    await fetcher({ allow: admitLoopback }).fetchImage(
      `http://127.0.0.1:${srv.port}/img.png?v=1#frag`,
      signal(),
    );
    expect(srv.requests.map((r) => r.url)).toEqual(['/img.png?v=1']);
  });
});

describe('image fetcher: the default policy refuses non-public targets before connecting', () => {
  const cases = (): Array<[string, string]> => [
    [`http://127.0.0.1:${srv.port}/img.png`, 'loopback'],
    [`http://localhost:${srv.port}/img.png`, 'loopback'],
    ['http://10.0.0.1/img.png', 'private'],
    ['http://192.168.1.1/img.png', 'private'],
    ['http://172.16.0.1/img.png', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://169.254.1.1/img.png', 'link-local'],
    ['http://[fe80::1]/img.png', 'link-local'],
    ['http://[fd00:ec2::254]/latest/meta-data/', 'metadata'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'metadata'],
    [`http://0.0.0.0:${srv.port}/img.png`, 'unspecified'],
    [`http://[::]:${srv.port}/img.png`, 'unspecified'],
    [`http://[::1]:${srv.port}/img.png`, 'loopback'],
    [`http://[::ffff:127.0.0.1]:${srv.port}/img.png`, 'loopback'],
    [`http://[::ffff:7f00:1]:${srv.port}/img.png`, 'loopback'],
    [`http://2130706433:${srv.port}/img.png`, 'loopback'],
    [`http://0177.0.0.1:${srv.port}/img.png`, 'loopback'],
    [`http://0x7f000001:${srv.port}/img.png`, 'loopback'],
    [`http://0x7f.1:${srv.port}/img.png`, 'loopback'],
    ['http://mixed.example/img.png', 'private'],
    [`ftp://127.0.0.1:${srv.port}/img.png`, 'scheme'],
    ['file:///etc/passwd', 'scheme'],
    ['data:image/png;base64,AAAA', 'scheme'],
    ['not a url', 'not a valid URL'],
  ];

  it('when the URL targets any non-public address in any spelling, then it is refused and nothing connects', async () => {
    const f = fetcher();
    for (const [url, why] of cases()) {
      const err = await refusal(f.fetchImage(url, signal()));
      expect({ url, code: err.code, status: err.status }).toEqual({
        url,
        code: 'image_url_refused',
        status: 400,
      });
      expect(err.message, url).toContain(why);
    }
    expect(outbound).toEqual({ sockets: 0, undiciConnects: 0 });
    expect(srv.connections).toBe(0);
  });

  it('when a name resolves to a non-public address, then the message names the host but not the address', async () => {
    const f = fetcher();
    const local = await refusal(f.fetchImage(`http://localhost:${srv.port}/img.png`, signal()));
    expect(local.message).toContain("'localhost'");
    expect(local.message).not.toContain('127.0.0.1');
    const meta = await refusal(f.fetchImage('http://metadata.google.internal/', signal()));
    expect(meta.message).not.toContain('169.254');
    const mixed = await refusal(f.fetchImage('http://mixed.example/img.png', signal()));
    expect(mixed.message).not.toContain('10.0.0.5');
  });

  it('when a literal IP is given, then no DNS lookup happens', async () => {
    await refusal(fetcher().fetchImage('http://10.0.0.1/img.png', signal()));
    await refusal(fetcher().fetchImage(`http://2130706433:${srv.port}/`, signal()));
    expect(dns.calls).toEqual([]);
  });
});

describe('image fetcher: redirects', () => {
  it.each(['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/img.png'])(
    'when an admitted server redirects to %s, then it is refused and the second hop never connects',
    async (target) => {
      const url = `http://127.0.0.1:${srv.port}/redirect?to=${encodeURIComponent(target)}`;
      const err = await refusal(fetcher({ allow: admitLoopback }).fetchImage(url, signal()));
      expect(err.code).toBe('image_url_refused');
      expect(err.message).toContain('redirected');
      expect(err.message).not.toContain(new URL(target).hostname);
      expect(srv.requests).toHaveLength(1);
      expect(outbound).toEqual({ sockets: 1, undiciConnects: 1 });
    },
  );

  it('when a redirect goes to a name resolving to a private address, then it is refused', async () => {
    const url = `http://127.0.0.1:${srv.port}/redirect?to=${encodeURIComponent('http://mixed.example/x.png')}`;
    const err = await refusal(fetcher({ allow: admitLoopback }).fetchImage(url, signal()));
    expect(err.code).toBe('image_url_refused');
    expect(err.message).not.toContain('10.0.0.5');
    expect(outbound.sockets).toBe(1);
  });

  it('when a redirect goes to another scheme, then it is refused', async () => {
    const url = `http://127.0.0.1:${srv.port}/redirect?to=${encodeURIComponent('file:///etc/passwd')}`;
    const err = await refusal(fetcher({ allow: admitLoopback }).fetchImage(url, signal()));
    expect(err.code).toBe('image_url_refused');
  });

  it('when the URL redirects more than maxRedirects times, then it is refused after maxRedirects hops', async () => {
    const err = await refusal(
      fetcher({ allow: admitLoopback, maxRedirects: 3 }).fetchImage(
        `http://127.0.0.1:${srv.port}/loop`,
        signal(),
      ),
    );
    expect(err.code).toBe('image_url_refused');
    expect(err.message).toContain('more than 3');
    expect(srv.requests).toHaveLength(4);
  });
});

describe('image fetcher: responses', () => {
  const f = () => fetcher({ allow: admitLoopback });

  it('when Content-Length exceeds the limit, then it is refused without reading the body', async () => {
    const err = await refusal(f().fetchImage(`http://127.0.0.1:${srv.port}/big-with-length`, signal()));
    expect(err.code).toBe('image_url_refused');
    expect(err.message).toContain(`${LIMIT} bytes`);
  });

  it('when a body without Content-Length grows past the limit, then it is refused while streaming', async () => {
    const err = await refusal(f().fetchImage(`http://127.0.0.1:${srv.port}/big-stream`, signal()));
    expect(err.code).toBe('image_url_refused');
    expect(err.message).toContain(`${LIMIT} bytes`);
  });

  it('when the content type is not an image, then it is refused', async () => {
    const err = await refusal(f().fetchImage(`http://127.0.0.1:${srv.port}/html`, signal()));
    expect(err.code).toBe('image_url_refused');
    expect(err.message).toContain('text/html');
  });

  it('when the status is not 2xx, then it is refused', async () => {
    const err = await refusal(f().fetchImage(`http://127.0.0.1:${srv.port}/missing`, signal()));
    expect(err.code).toBe('image_url_refused');
    expect(err.message).toContain('404');
  });

  it('when the body is content-encoded despite identity being asked for, then it is refused', async () => {
    const err = await refusal(f().fetchImage(`http://127.0.0.1:${srv.port}/gzip`, signal()));
    expect(err.code).toBe('image_url_refused');
  });
});

describe('image fetcher: failures and timeouts', () => {
  it('when the server never answers, then the fetch times out as image_fetch_failed', async () => {
    const err = await refusal(
      fetcher({ allow: admitLoopback, timeoutMs: 200 }).fetchImage(
        `http://127.0.0.1:${srv.port}/slow`,
        signal(),
      ),
    );
    expect(err.code).toBe('image_fetch_failed');
    expect(err.status).toBe(400);
    expect(err.message).toContain('timed out after 200 ms');
  });

  it('when the body stalls, then the fetch times out as image_fetch_failed', async () => {
    const err = await refusal(
      fetcher({ allow: admitLoopback, timeoutMs: 200 }).fetchImage(
        `http://127.0.0.1:${srv.port}/stall-body`,
        signal(),
      ),
    );
    expect(err.code).toBe('image_fetch_failed');
    expect(err.message).toContain('timed out');
  });

  it('when DNS never answers, then the fetch times out as image_fetch_failed', async () => {
    const f = new ImageFetcher({ lookup: () => new Promise(() => {}), timeoutMs: 100 });
    const err = await refusal(f.fetchImage('http://hang.example/img.png', signal()));
    expect(err.code).toBe('image_fetch_failed');
    expect(err.message).toContain('timed out');
  });

  it('when nothing listens on the port, then it fails as image_fetch_failed', async () => {
    const closed = await startServer(() => {});
    await stopServer(closed);
    const err = await refusal(
      fetcher({ allow: admitLoopback }).fetchImage(`http://127.0.0.1:${closed.port}/`, signal()),
    );
    expect(err.code).toBe('image_fetch_failed');
    expect(err.message).toContain('connection refused');
  });

  it('when the name does not resolve, then it fails as image_fetch_failed', async () => {
    const err = await refusal(fetcher().fetchImage('http://nowhere.example/img.png', signal()));
    expect(err.code).toBe('image_fetch_failed');
    expect(err.message).toContain('does not resolve');
  });

  it('when the name resolves to no address, then it fails as image_fetch_failed', async () => {
    const f = new ImageFetcher({ lookup: async () => [] });
    const err = await refusal(f.fetchImage('http://empty.example/img.png', signal()));
    expect(err.code).toBe('image_fetch_failed');
  });

  it("when the caller aborts, then the fetch rejects with the caller's reason", async () => {
    const controller = new AbortController();
    const reason = new Error('client went away');
    const arrived = srv.nextRequest();
    const pending = fetcher({ allow: admitLoopback }).fetchImage(
      `http://127.0.0.1:${srv.port}/slow`,
      controller.signal,
    );
    await arrived;
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });
});

describe('image fetcher: the connection is pinned to the checked address', () => {
  let good: TestServer;
  let evil: TestServer;

  beforeAll(async () => {
    good = await startServer(imageRoutes, '127.0.0.1');
    // Same port on another loopback address: where a re-resolved connection would land.
    evil = await startServer(imageRoutes, '127.0.0.2', good.port);
  });

  afterAll(async () => {
    await stopServer(good);
    await stopServer(evil);
  });

  it('when DNS answers differently on a second lookup, then the connection still goes to the first, checked address', async () => {
    let lookups = 0;
    const rebinding: HostLookup = async () => {
      lookups++;
      return [{ address: lookups === 1 ? '127.0.0.1' : '127.0.0.2', family: 4 }];
    };
    const f = new ImageFetcher({ lookup: rebinding, allow: (_cls, address) => address === '127.0.0.1' });

    const img = await f.fetchImage(`http://rebind.example:${good.port}/img.png`, signal());

    expect(Buffer.from(img.data, 'base64').equals(PNG)).toBe(true);
    expect(lookups).toBe(1);
    expect(good.requests).toEqual([{ url: '/img.png', host: `rebind.example:${good.port}` }]);
    expect(evil.connections).toBe(0);

    const err = await refusal(f.fetchImage(`http://rebind.example:${good.port}/img.png`, signal()));
    expect(err.code).toBe('image_url_refused');
    expect(lookups).toBe(2);
    expect(evil.connections).toBe(0);
  });

  it('when the URL is https, then the TLS server name is the URL host name while the socket goes to the checked address', async () => {
    const serverNames: string[] = [];
    const tlsServer = createTlsServer({
      SNICallback: (name, cb) => {
        serverNames.push(name);
        cb(new Error('test server has no certificate'));
      },
    });
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
    const port = (tlsServer.address() as AddressInfo).port;
    try {
      const err = await refusal(
        fetcher({ allow: admitLoopback }).fetchImage(`https://images.example:${port}/img.png`, signal()),
      );
      expect(err.code).toBe('image_fetch_failed');
      expect(serverNames).toEqual(['images.example']);
    } finally {
      tlsServer.close();
    }
  });
});
