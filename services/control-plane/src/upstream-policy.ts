import { isIPv4, isIPv6 } from 'node:net';
import type { Dispatcher } from 'undici';
import { classifyAddress, type AddressClass } from '@switchyard/core';

/** Address classes an operator may open to upstream connections; every other non-public class is always refused. */
export const UPSTREAM_ALLOW_CLASSES = ['loopback', 'private'] as const;
export type UpstreamAllowClass = (typeof UPSTREAM_ALLOW_CLASSES)[number];

/**
 * Which non-public addresses the control plane may store as, and connect to as, an upstream or proxy:
 * `loopback` (127.0.0.0/8, ::1, `localhost`, `*.localhost`) and `private` (RFC 1918, unique local, ...)
 * only when listed. Link-local, cloud metadata, unspecified, multicast and reserved addresses are
 * refused whatever the policy says. Configured by SWITCHYARD_UPSTREAM_ALLOW.
 */
export interface UpstreamPolicy {
  allow: ReadonlyArray<UpstreamAllowClass>;
}

/** The all-in-one default: a local model server (Ollama, vLLM on localhost) works, the LAN does not. */
export const DEFAULT_UPSTREAM_POLICY: UpstreamPolicy = Object.freeze({
  allow: Object.freeze<UpstreamAllowClass[]>(['loopback']),
});

/** Host names of cloud metadata services (GCP); compared lower-case without a trailing dot. */
const METADATA_HOSTS = new Set(['metadata.google.internal']);

const ALWAYS_REFUSED: Readonly<Record<Exclude<AddressClass, 'public' | UpstreamAllowClass>, string>> = {
  'link-local': 'must not point at a link-local or cloud metadata address',
  metadata: 'must not point at a link-local or cloud metadata address',
  unspecified: 'must not point at an unspecified address (0.0.0.0, ::)',
  multicast: 'must not point at a multicast address',
  reserved: 'must not point at a reserved or special-purpose address',
};

/**
 * Why `url.hostname` (an IP literal as WHATWG URL normalised it, `[...]` for IPv6, or a name) is refused
 * under `policy`, or null when it may be used. Names are not resolved: only `localhost`, `*.localhost`
 * (loopback by RFC 6761) and the metadata names are judged by name; everything else a name reaches is
 * checked where the connection is made (the OutboundDispatchers the composition root passes in).
 */
export function hostRefusal(hostname: string, policy: UpstreamPolicy): string | null {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (METADATA_HOSTS.has(host)) return ALWAYS_REFUSED.metadata;
  if (host === 'localhost' || host.endsWith('.localhost')) return classRefusal('loopback', policy);
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (!isIPv4(bare) && !isIPv6(bare.split('%')[0] ?? '')) return null;
  return classRefusal(classifyAddress(bare), policy);
}

function classRefusal(cls: AddressClass, policy: UpstreamPolicy): string | null {
  if (cls === 'public') return null;
  if (cls === 'loopback' || cls === 'private') {
    if (policy.allow.includes(cls)) return null;
    const allow = UPSTREAM_ALLOW_CLASSES.filter((c) => c === cls || policy.allow.includes(c)).join(',');
    return `points at a ${cls} address, which this gateway does not allow; set SWITCHYARD_UPSTREAM_ALLOW=${allow} to allow it`;
  }
  return ALWAYS_REFUSED[cls];
}

/** The outcome of checking an admin-supplied proxy URL. */
export type UpstreamUrlCheck = { ok: true; url: string; displayUrl: string } | { ok: false; reason: string };

const PROXY_SCHEMES = new Set(['http:', 'https:', 'socks5:', 'socks5h:']);

/**
 * The SSRF policy for outbound proxy URLs (`proxies.url`): an absolute http, https, socks5 or socks5h
 * URL (socks ones with a port) whose host passes `hostRefusal` under `policy`, with no path, query or
 * fragment. A user name and password are allowed (the proxy's own login); the caller stores the URL
 * encrypted and shows `displayUrl`, which masks them.
 *
 * socks URLs are not "special" to WHATWG URL, so their host is not normalised by the parser; it is
 * checked in its http spelling, so `socks5://0xa9fea9fe:1080` is seen as 169.254.169.254.
 */
export function checkUpstreamUrl(input: string, policy: UpstreamPolicy): UpstreamUrlCheck {
  const invalid = 'must be an absolute http, https, socks5 or socks5h URL';
  if (!URL.canParse(input)) return { ok: false, reason: invalid };
  const url = new URL(input);
  if (!PROXY_SCHEMES.has(url.protocol)) return { ok: false, reason: invalid };
  if (url.hostname === '') return { ok: false, reason: 'must name a host' };
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
    return { ok: false, reason: 'must not contain a path, query string or fragment' };
  }
  const socks = url.protocol.startsWith('socks');
  if (socks && url.port === '') return { ok: false, reason: 'must name a port (e.g. socks5://host:1080)' };
  if (url.port === '0') return { ok: false, reason: 'must name a port between 1 and 65535' };
  const asHttp = `http://${url.host}`;
  if (!URL.canParse(asHttp)) return { ok: false, reason: 'must name a valid host' };
  const refusal = hostRefusal(new URL(asHttp).hostname, policy);
  if (refusal !== null) return { ok: false, reason: refusal };
  const hasCredentials = url.username !== '' || url.password !== '';
  const auth = hasCredentials ? `${url.username}${url.password === '' ? '' : `:${url.password}`}@` : '';
  return {
    ok: true,
    url: `${url.protocol}//${auth}${url.host}`,
    displayUrl: `${url.protocol}//${hasCredentials ? '***@' : ''}${url.host}`,
  };
}

/**
 * The undici dispatcher the control plane's own upstream calls (channel tests, recovery probes, OAuth
 * token requests) go through: for an account's proxy URL (credentials included) or null for a direct
 * connection. The composition root passes the adapters' OutboundDispatchers, which check every
 * resolved address against the policy when connecting; it owns what it returns, callers never close it.
 */
export type DispatcherFor = (proxyUrl: string | null) => Dispatcher;
