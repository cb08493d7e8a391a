import { isIPv4, isIPv6 } from 'node:net';

/**
 * What an IP address reaches, for outbound-request guards (SSRF): only `public` addresses are on the
 * open internet; every other class reaches the gateway's own host, its network, or nothing useful.
 */
export const ADDRESS_CLASSES = [
  'public',
  'loopback',
  'private',
  'link-local',
  'metadata',
  'unspecified',
  'multicast',
  'reserved',
] as const;
export type AddressClass = (typeof ADDRESS_CLASSES)[number];

interface Range {
  base: bigint;
  bits: number;
  cls: AddressClass;
}

/** First match wins, so the single addresses come before the blocks that contain them. */
const IPV4_RANGES: readonly Range[] = [
  v4('0.0.0.0/32', 'unspecified'),
  // Cloud instance metadata and credential endpoints (AWS, GCP, Azure, OCI, DigitalOcean, ...).
  v4('169.254.169.254/32', 'metadata'),
  // AWS ECS task credentials.
  v4('169.254.170.2/32', 'metadata'),
  // AWS EKS Pod Identity agent.
  v4('169.254.170.23/32', 'metadata'),
  // Alibaba Cloud instance metadata (inside the carrier-grade NAT block).
  v4('100.100.100.200/32', 'metadata'),
  // "This network" (RFC 791); Linux connects 0.x.y.z to the local host.
  v4('0.0.0.0/8', 'reserved'),
  v4('10.0.0.0/8', 'private'),
  // Carrier-grade NAT shared space (RFC 6598).
  v4('100.64.0.0/10', 'reserved'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link-local'),
  v4('172.16.0.0/12', 'private'),
  // IETF protocol assignments (RFC 6890).
  v4('192.0.0.0/24', 'reserved'),
  // Documentation TEST-NET-1 (RFC 5737).
  v4('192.0.2.0/24', 'reserved'),
  // Deprecated 6to4 relay anycast (RFC 7526).
  v4('192.88.99.0/24', 'reserved'),
  v4('192.168.0.0/16', 'private'),
  // Benchmarking (RFC 2544).
  v4('198.18.0.0/15', 'reserved'),
  // Documentation TEST-NET-2 and TEST-NET-3 (RFC 5737).
  v4('198.51.100.0/24', 'reserved'),
  v4('203.0.113.0/24', 'reserved'),
  v4('224.0.0.0/4', 'multicast'),
  // Future use (RFC 1112), including the limited broadcast 255.255.255.255.
  v4('240.0.0.0/4', 'reserved'),
];

const IPV6_SINGLES: readonly Range[] = [
  v6('::/128', 'unspecified'),
  v6('::1/128', 'loopback'),
  // AWS instance metadata over IPv6.
  v6('fd00:ec2::254/128', 'metadata'),
  // AWS EKS Pod Identity agent over IPv6.
  v6('fd00:ec2::23/128', 'metadata'),
];

/** Prefixes whose addresses carry an IPv4 address, and where its 32 bits sit (the shift from the right). */
const IPV6_EMBEDDING_IPV4: ReadonlyArray<{ range: Range; shift: bigint }> = [
  // IPv4-mapped ::ffff:a.b.c.d (RFC 4291): the socket reaches the IPv4 address itself.
  { range: v6('::ffff:0:0/96', 'reserved'), shift: 0n },
  // Deprecated IPv4-compatible ::a.b.c.d (RFC 4291).
  { range: v6('::/96', 'reserved'), shift: 0n },
  // NAT64 well-known prefix (RFC 6052): a translator on the path connects to the IPv4 address.
  { range: v6('64:ff9b::/96', 'reserved'), shift: 0n },
  // 6to4 (RFC 3056): 2002:AABB:CCDD::/48 belongs to the IPv4 address AA.BB.CC.DD.
  { range: v6('2002::/16', 'reserved'), shift: 80n },
];

const IPV6_RANGES: readonly Range[] = [
  // NAT64 local-use prefix (RFC 8215): translates into whatever IPv4 network the operator has.
  v6('64:ff9b:1::/48', 'private'),
  // Discard-only (RFC 6666).
  v6('100::/64', 'reserved'),
  // IETF protocol assignments, Teredo among them (RFC 6890).
  v6('2001::/23', 'reserved'),
  // Documentation (RFC 3849, RFC 9637).
  v6('2001:db8::/32', 'reserved'),
  v6('3fff::/20', 'reserved'),
  // The only block IANA allocates for global unicast; everything outside it and the blocks below is reserved.
  v6('2000::/3', 'public'),
  // Unique local addresses (RFC 4193).
  v6('fc00::/7', 'private'),
  // Deprecated site-local (RFC 3879).
  v6('fec0::/10', 'private'),
  v6('fe80::/10', 'link-local'),
  v6('ff00::/8', 'multicast'),
];

/**
 * Classifies an IP address: dotted-quad IPv4, or IPv6 in any textual form (compressed, with an
 * embedded dotted quad, with a `%zone`). IPv6 forms that reach an IPv4 address (IPv4-mapped,
 * IPv4-compatible, NAT64 64:ff9b::/96, 6to4 2002::/16) are classified by that IPv4 address. A string
 * that is not an IP address (a name, `[::1]` with brackets, `0177.0.0.1`) is `reserved`, so a guard
 * that admits only `public` fails closed.
 */
export function classifyAddress(address: string): AddressClass {
  const v4value = parseIPv4(address);
  if (v4value !== null) return classifyIPv4(v4value);
  const v6value = parseIPv6(address);
  if (v6value === null) return 'reserved';
  const single = firstMatch(IPV6_SINGLES, v6value, 128);
  if (single !== null) return single;
  for (const { range, shift } of IPV6_EMBEDDING_IPV4) {
    if (inRange(range, v6value, 128)) return classifyIPv4((v6value >> shift) & 0xffff_ffffn);
  }
  return firstMatch(IPV6_RANGES, v6value, 128) ?? 'reserved';
}

function classifyIPv4(value: bigint): AddressClass {
  return firstMatch(IPV4_RANGES, value, 32) ?? 'public';
}

function firstMatch(ranges: readonly Range[], value: bigint, width: number): AddressClass | null {
  for (const r of ranges) if (inRange(r, value, width)) return r.cls;
  return null;
}

function inRange(r: Range, value: bigint, width: number): boolean {
  const shift = BigInt(width - r.bits);
  return value >> shift === r.base >> shift;
}

function parseIPv4(text: string): bigint | null {
  if (!isIPv4(text)) return null;
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function parseIPv6(text: string): bigint | null {
  const zone = text.indexOf('%');
  let s = zone === -1 ? text : text.slice(0, zone);
  if (!isIPv6(s)) return null;
  if (s.includes('.')) {
    const lastColon = s.lastIndexOf(':');
    const v4value = parseIPv4(s.slice(lastColon + 1));
    if (v4value === null) return null;
    s = `${s.slice(0, lastColon + 1)}${(v4value >> 16n).toString(16)}:${(v4value & 0xffffn).toString(16)}`;
  }
  let groups: string[];
  const gap = s.indexOf('::');
  if (gap === -1) {
    groups = s.split(':');
  } else {
    const head = s.slice(0, gap);
    const tail = s.slice(gap + 2);
    const headGroups = head === '' ? [] : head.split(':');
    const tailGroups = tail === '' ? [] : tail.split(':');
    const zeros = new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
    groups = [...headGroups, ...zeros, ...tailGroups];
  }
  if (groups.length !== 8) return null;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

function v4(cidr: string, cls: AddressClass): Range {
  const [addr, bits] = cidr.split('/') as [string, string];
  const base = parseIPv4(addr);
  if (base === null) throw new Error(`bad IPv4 range ${cidr}`);
  return { base, bits: Number(bits), cls };
}

function v6(cidr: string, cls: AddressClass): Range {
  const [addr, bits] = cidr.split('/') as [string, string];
  const base = parseIPv6(addr);
  if (base === null) throw new Error(`bad IPv6 range ${cidr}`);
  return { base, bits: Number(bits), cls };
}
