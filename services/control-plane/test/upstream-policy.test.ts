import { describe, expect, it } from 'vitest';
import { checkUpstreamUrl, type UpstreamPolicy } from '../src/upstream-policy.js';

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
