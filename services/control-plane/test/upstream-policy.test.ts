import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProxyAgent, Socks5ProxyAgent } from 'undici';
import {
  checkUpstreamUrl,
  policyLookup,
  UpstreamAddressRefusedError,
  UpstreamDispatchers,
  type UpstreamPolicy,
} from '../src/upstream-policy.js';

const NONE: UpstreamPolicy = { allow: [] };
const LOOPBACK: UpstreamPolicy = { allow: ['loopback'] };
const BOTH: UpstreamPolicy = { allow: ['loopback', 'private'] };

describe('checkUpstreamUrl (proxy URLs)', () => {
  it.each([
    ['http://proxy.example:3128', BOTH, 'http://proxy.example:3128', 'http://proxy.example:3128'],
    [
      'https://user:p%40ss@proxy.example',
      NONE,
      'https://user:p%40ss@proxy.example',
      'https://***@proxy.example',
    ],
    ['socks5://10.0.0.7:1080', BOTH, 'socks5://10.0.0.7:1080', 'socks5://10.0.0.7:1080'],
    [
      'socks5h://u:pw@127.0.0.1:1080/',
      LOOPBACK,
      'socks5h://u:pw@127.0.0.1:1080',
      'socks5h://***@127.0.0.1:1080',
    ],
  ])(
    'when %s is checked, then it is allowed, normalised and masked for display',
    (input, policy, url, displayUrl) => {
      expect(checkUpstreamUrl(input, policy)).toEqual({ ok: true, url, displayUrl });
    },
  );

  it.each([
    ['socks5://10.0.0.7:1080', LOOPBACK, /SWITCHYARD_UPSTREAM_ALLOW=loopback,private/],
    ['http://localhost:3128', NONE, /SWITCHYARD_UPSTREAM_ALLOW=loopback /],
    // socks hosts are not normalised by WHATWG URL: the check must still see 169.254.169.254.
    ['socks5://0xa9fea9fe:1080', BOTH, /metadata/],
    ['socks5h://[::ffff:169.254.169.254]:1080', BOTH, /metadata/],
    ['http://0.0.0.0:3128', BOTH, /unspecified/],
    ['socks5://proxy.example', BOTH, /port/],
    ['http://proxy.example:0', BOTH, /port/],
    ['http://proxy.example/path', BOTH, /path/],
    ['ftp://proxy.example', BOTH, /socks5/],
    ['not a url', BOTH, /absolute/],
  ])('when %s is checked, then it is refused with a reason', (input, policy, reason) => {
    const check = checkUpstreamUrl(input, policy);
    expect(check.ok).toBe(false);
    expect(check.ok ? '' : check.reason).toMatch(reason);
  });
});

describe('policyLookup (connect-time check)', () => {
  /** A resolver that answers from a fixed table, like DNS would (possibly rebinding). */
  function fakeResolver(table: Record<string, string[]>) {
    return (
      hostname: string,
      _options: { all: true; family?: number },
      callback: (err: NodeJS.ErrnoException | null, addresses: { address: string; family: number }[]) => void,
    ) => {
      const addresses = (table[hostname] ?? []).map((address) => ({
        address,
        family: address.includes(':') ? 6 : 4,
      }));
      callback(null, addresses);
    };
  }

  function lookupOnce(policy: UpstreamPolicy, table: Record<string, string[]>, host: string, all: boolean) {
    const lookup = policyLookup(policy, fakeResolver(table));
    return new Promise<{ err: Error | null; address: unknown }>((resolve) => {
      lookup(host, { all }, (err, address) => resolve({ err, address }));
    });
  }

  it('when a name resolves to a public address, then the lookup answers it in both callback forms', async () => {
    const table = { 'api.example': ['203.0.114.5'] };
    expect(await lookupOnce(NONE, table, 'api.example', false)).toEqual({
      err: null,
      address: '203.0.114.5',
    });
    expect(await lookupOnce(NONE, table, 'api.example', true)).toEqual({
      err: null,
      address: [{ address: '203.0.114.5', family: 4 }],
    });
  });

  it('when a name resolves to a metadata address among public ones, then the connection is refused', async () => {
    const { err } = await lookupOnce(
      BOTH,
      { 'evil.example': ['203.0.114.5', '169.254.169.254'] },
      'evil.example',
      true,
    );
    expect(err).toBeInstanceOf(UpstreamAddressRefusedError);
    expect(err?.message).toMatch(/evil\.example.*metadata/);
  });

  it('when a name resolves to a private address the policy does not allow, then the connection is refused', async () => {
    const { err } = await lookupOnce(LOOPBACK, { 'lan.example': ['192.168.1.9'] }, 'lan.example', false);
    expect(err).toBeInstanceOf(UpstreamAddressRefusedError);
    expect(err?.message).toContain('SWITCHYARD_UPSTREAM_ALLOW=loopback,private');
  });

  it('when a name has no address, then the lookup fails with ENOTFOUND', async () => {
    const { err } = await lookupOnce(BOTH, {}, 'nothing.example', false);
    expect((err as NodeJS.ErrnoException | null)?.code).toBe('ENOTFOUND');
  });
});

describe('UpstreamDispatchers', () => {
  let server: Server;
  let port: number;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits++;
      res.end('hello');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('when loopback is allowed, then a direct request to localhost reaches the server', async () => {
    const dispatchers = new UpstreamDispatchers(LOOPBACK);
    try {
      const res = await dispatchers.dispatcherFor(null).request({
        origin: `http://localhost:${port}`,
        path: '/',
        method: 'GET',
      });
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe('hello');
    } finally {
      await dispatchers.close();
    }
  });

  it('when loopback is not allowed, then a direct request to a name that resolves to loopback never connects', async () => {
    const dispatchers = new UpstreamDispatchers(NONE);
    const before = hits;
    try {
      const attempt = dispatchers.dispatcherFor(null).request({
        origin: `http://localhost:${port}`,
        path: '/',
        method: 'GET',
      });
      await expect(attempt).rejects.toBeInstanceOf(UpstreamAddressRefusedError);
      expect(hits).toBe(before);
    } finally {
      await dispatchers.close();
    }
  });

  it('when proxy URLs are given, then each scheme gets its proxy agent, made once per URL', async () => {
    const dispatchers = new UpstreamDispatchers(BOTH);
    try {
      const http = dispatchers.dispatcherFor('http://u:pw@proxy.example:3128');
      expect(http).toBeInstanceOf(ProxyAgent);
      expect(dispatchers.dispatcherFor('http://u:pw@proxy.example:3128')).toBe(http);
      expect(dispatchers.dispatcherFor('socks5h://proxy.example:1080')).toBeInstanceOf(Socks5ProxyAgent);
      expect(dispatchers.dispatcherFor(null)).toBe(dispatchers.dispatcherFor(null));
    } finally {
      await dispatchers.close();
    }
  });
});
