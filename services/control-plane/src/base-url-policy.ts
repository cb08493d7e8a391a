import { isIPv4, isIPv6 } from 'node:net';

/** The outcome of checking an admin-supplied upstream base URL. */
export type BaseUrlCheck = { ok: true; url: string } | { ok: false; reason: string };

/** Host names of cloud metadata services (GCP); compared lower-case without a trailing dot. */
const METADATA_HOSTS = new Set(['metadata.google.internal']);

/** Exact IPv6 metadata addresses: AWS's IMDS over IPv6. */
const METADATA_IPV6 = new Set(['fd00:ec2:0:0:0:0:0:254']);

/**
 * The SSRF policy for upstream base URLs: absolute http(s) URLs only, no embedded credentials, no
 * query or fragment (the relay appends paths), and never a link-local or cloud metadata address
 * (169.254.0.0/16 — which holds the AWS/GCP/Azure metadata endpoint —, fe80::/10, fd00:ec2::254,
 * metadata.google.internal), including IPv4-mapped and NAT64 spellings of those. Private ranges and
 * localhost are allowed: self-hosted upstreams live there.
 *
 * Host names are not resolved here: a name that resolves to a metadata address must be caught where
 * the connection is made.
 *
 * On success `url` is the normalised base URL without a trailing slash.
 */
export function checkBaseUrl(input: string): BaseUrlCheck {
  if (!URL.canParse(input)) return { ok: false, reason: 'must be an absolute http or https URL' };
  const url = new URL(input);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, reason: 'must be an absolute http or https URL' };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'must not contain credentials; give the upstream key as an account api_key' };
  }
  if (url.search !== '' || url.hash !== '') {
    return { ok: false, reason: 'must not contain a query string or fragment' };
  }
  if (isForbiddenHost(url.hostname)) {
    return { ok: false, reason: 'must not point at a link-local or cloud metadata address' };
  }
  return { ok: true, url: url.origin + url.pathname.replace(/\/+$/, '') };
}

function isForbiddenHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (METADATA_HOSTS.has(host)) return true;
  if (isIPv4(host)) return isLinkLocalIPv4(host.split('.').map(Number));
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIPv6(bare)) {
    const groups = parseIPv6(bare);
    return groups !== undefined && isForbiddenIPv6(groups);
  }
  return false;
}

function isLinkLocalIPv4(octets: number[]): boolean {
  return octets[0] === 169 && octets[1] === 254;
}

function isForbiddenIPv6(g: number[]): boolean {
  if (METADATA_IPV6.has(g.map((n) => n.toString(16)).join(':'))) return true;
  // fe80::/10: IPv6 link-local.
  if (((g[0] ?? 0) & 0xffc0) === 0xfe80) return true;
  const embedsIPv4 =
    // ::ffff:0:0/96, IPv4-mapped.
    (g.slice(0, 5).every((n) => n === 0) && g[5] === 0xffff) ||
    // 64:ff9b::/96, NAT64 well-known prefix.
    (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((n) => n === 0));
  if (embedsIPv4) {
    const hi = g[6] ?? 0;
    return isLinkLocalIPv4([hi >> 8, hi & 0xff]);
  }
  return false;
}

/** Expands an IPv6 literal (already validated by isIPv6) into its eight 16-bit groups. */
function parseIPv6(text: string): number[] | undefined {
  let address = text.split('%')[0] ?? '';
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted?.[1] !== undefined) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    address =
      address.slice(0, dotted.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...Array<string>(missing).fill('0'), ...right].map((h) => Number.parseInt(h, 16));
  return groups.every((n) => Number.isInteger(n) && n >= 0 && n <= 0xffff) ? groups : undefined;
}
