import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** A set of CIDRs and single addresses (IPv4 and IPv6; IPv4-mapped IPv6 peers match IPv4 entries). */
export class AddressSet {
  readonly #list = new BlockList();
  readonly size: number;

  constructor(entries: readonly string[]) {
    let n = 0;
    for (const raw of entries) {
      const entry = raw.trim();
      const slash = entry.indexOf('/');
      const addr = slash === -1 ? entry : entry.slice(0, slash);
      const family = isIP(addr);
      if (family === 0) continue;
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (slash === -1) this.#list.addAddress(addr, type);
      else this.#list.addSubnet(addr, Number(entry.slice(slash + 1)), type);
      n++;
    }
    this.size = n;
  }

  has(address: string): boolean {
    const plain = unmapped(address);
    const family = isIP(plain);
    if (family === 0) return false;
    return this.#list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** `::ffff:10.0.0.1` → `10.0.0.1`: Node reports IPv4 peers of dual-stack sockets this way. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * The client's address: the socket peer, or, when the peer is a trusted proxy (a load balancer or
 * ingress), the right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Entries a
 * client could have written (left of the first untrusted hop) are never believed.
 */
export function clientAddress(req: IncomingMessage, trusted: AddressSet | null): string {
  const peer = unmapped(req.socket.remoteAddress ?? '');
  if (trusted === null || trusted.size === 0 || !trusted.has(peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((h) => unmapped(h.trim()))
    .filter((h) => h !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return peer;
    if (!trusted.has(hop)) return hop;
  }
  return hops[0] ?? peer;
}
