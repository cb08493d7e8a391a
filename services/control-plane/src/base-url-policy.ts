import { isIPv4, isIPv6 } from 'node:net';
import { classifyAddress } from '@switchyard/core';

/** The outcome of checking an admin-supplied upstream base URL. */
export type BaseUrlCheck = { ok: true; url: string } | { ok: false; reason: string };

/** Host names of cloud metadata services (GCP); compared lower-case without a trailing dot. */
const METADATA_HOSTS = new Set(['metadata.google.internal']);

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
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (!isIPv4(bare) && !isIPv6(bare.split('%')[0] ?? '')) return false;
  // The relay's image guard uses the same classifier; base URLs may still point at loopback and
  // private hosts (self-hosted upstreams), never at link-local or metadata addresses.
  const cls = classifyAddress(bare);
  return cls === 'link-local' || cls === 'metadata';
}
