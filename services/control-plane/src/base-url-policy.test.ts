import { describe, expect, it } from 'vitest';
import { checkBaseUrl } from './base-url-policy.js';
import type { UpstreamPolicy } from './upstream-policy.js';

const NONE: UpstreamPolicy = { allow: [] };
const LOOPBACK: UpstreamPolicy = { allow: ['loopback'] };
const BOTH: UpstreamPolicy = { allow: ['loopback', 'private'] };
const POLICIES = [
  ['allow=', NONE],
  ['allow=loopback', LOOPBACK],
  ['allow=loopback,private', BOTH],
] as const;

/** Under which policies (index into POLICIES) a URL is allowed; `true` = always, `false` = never. */
type Verdict = boolean | ReadonlyArray<0 | 1 | 2>;

const TABLE: ReadonlyArray<[input: string, normalised: string, verdict: Verdict]> = [
  // Public hosts: always, normalised.
  ['https://api.openai.com/v1/', 'https://api.openai.com/v1', true],
  ['HTTPS://API.Example.COM:443/v1//', 'https://api.example.com/v1', true],
  ['http://169.253.1.1', 'http://169.253.1.1', true],
  ['http://[fd00:ec2::255]', 'http://[fd00:ec2::255]', [2]],
  ['http://metadata.google.internal.example.com', 'http://metadata.google.internal.example.com', true],
  // Names are not resolved at save time (the connection is checked again).
  ['http://mock-upstream:9090/v1', 'http://mock-upstream:9090/v1', true],
  // Loopback: the name localhost, *.localhost, 127/8, ::1 and their mapped forms.
  ['http://localhost:11434/v1', 'http://localhost:11434/v1', [1, 2]],
  ['http://LOCALHOST.:11434', 'http://localhost.:11434', [1, 2]],
  ['http://ollama.localhost/v1', 'http://ollama.localhost/v1', [1, 2]],
  ['http://127.0.0.1:8000', 'http://127.0.0.1:8000', [1, 2]],
  ['http://127.1.2.3', 'http://127.1.2.3', [1, 2]],
  ['http://0x7f000001/', 'http://127.0.0.1', [1, 2]],
  ['http://[::1]:8080/', 'http://[::1]:8080', [1, 2]],
  ['http://[::ffff:127.0.0.1]/', 'http://[::ffff:7f00:1]', [1, 2]],
  // Private ranges (RFC 1918, unique local), also as IPv4-mapped and NAT64.
  ['http://10.1.2.3:8000', 'http://10.1.2.3:8000', [2]],
  ['http://172.16.0.9', 'http://172.16.0.9', [2]],
  ['http://192.168.1.20/v1', 'http://192.168.1.20/v1', [2]],
  ['http://[fd12:3456::1]', 'http://[fd12:3456::1]', [2]],
  ['http://[::ffff:10.0.0.1]', 'http://[::ffff:a00:1]', [2]],
  ['http://[64:ff9b::192.168.0.1]', 'http://[64:ff9b::c0a8:1]', [2]],
  // Never: metadata, link-local, unspecified, multicast, reserved, in every spelling.
  ['http://169.254.169.254', '', false],
  ['http://169.254.170.2/v2/credentials', '', false],
  ['http://0251.0376.0251.0376/', '', false],
  ['http://2852039166/', '', false],
  ['http://[fd00:ec2::254]', '', false],
  ['http://[FD00:EC2:0:0:0:0:0:254]', '', false],
  ['http://[fe80::a9fe:a9fe]', '', false],
  ['http://[febf::1]', '', false],
  ['http://[::ffff:a9fe:a9fe]', '', false],
  ['http://[64:ff9b::169.254.169.254]', '', false],
  ['http://metadata.google.internal', '', false],
  ['http://Metadata.Google.Internal.:80/', '', false],
  ['http://100.100.100.200/', '', false],
  ['http://0.0.0.0:8080', '', false],
  ['http://[::]:8080', '', false],
  ['http://224.0.0.1', '', false],
  ['http://[ff02::1]', '', false],
  ['http://255.255.255.255', '', false],
  ['http://192.0.2.10', '', false],
  ['http://100.64.0.1', '', false],
  ['http://0.1.2.3', '', false],
];

const cases = TABLE.flatMap(([input, normalised, verdict]) =>
  POLICIES.map(([name, policy], i) => {
    const allowed = verdict === true || (Array.isArray(verdict) && verdict.includes(i as 0 | 1 | 2));
    return { input, name, policy, allowed, normalised };
  }),
);

describe('checkBaseUrl', () => {
  it.each(cases.filter((c) => c.allowed))(
    'when $input is saved under $name, then it is allowed as $normalised',
    ({ input, policy, normalised }) => {
      expect(checkBaseUrl(input, policy)).toEqual({ ok: true, url: normalised });
    },
  );

  it.each(cases.filter((c) => !c.allowed))(
    'when $input is saved under $name, then it is refused',
    ({ input, policy }) => {
      expect(checkBaseUrl(input, policy).ok).toBe(false);
    },
  );

  it.each(['http://169.254.169.254', 'http://[fe80::1]', 'http://metadata.google.internal'])(
    'when the link-local / metadata address %s is saved even under the widest policy, then the reason names metadata',
    (input) => {
      const check = checkBaseUrl(input, BOTH);
      expect(check.ok ? '' : check.reason).toMatch(/link-local or cloud metadata/);
    },
  );

  it('when a private address is refused, then the reason says which SWITCHYARD_UPSTREAM_ALLOW value allows it', () => {
    expect(checkBaseUrl('http://10.0.0.5', LOOPBACK)).toEqual({
      ok: false,
      reason: expect.stringContaining('SWITCHYARD_UPSTREAM_ALLOW=loopback,private'),
    });
    expect(checkBaseUrl('http://localhost:11434', NONE)).toEqual({
      ok: false,
      reason: expect.stringContaining('SWITCHYARD_UPSTREAM_ALLOW=loopback '),
    });
    expect(checkBaseUrl('http://[::1]', { allow: ['private'] })).toEqual({
      ok: false,
      reason: expect.stringContaining('SWITCHYARD_UPSTREAM_ALLOW=loopback,private'),
    });
  });

  it.each([
    '',
    'api.openai.com',
    'file:///etc/passwd',
    'ws://x.example',
    'https://a:b@x.example',
    'https://x.example/?q=1',
    'https://x.example/#f',
  ])('when the non-base URL %j is saved, then it is refused under every policy', (input) => {
    for (const [, policy] of POLICIES) expect(checkBaseUrl(input, policy).ok).toBe(false);
  });
});
