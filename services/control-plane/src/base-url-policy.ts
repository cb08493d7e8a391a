import { hostRefusal, type UpstreamPolicy } from './upstream-policy.js';

/** The outcome of checking an admin-supplied upstream base URL. */
export type BaseUrlCheck = { ok: true; url: string } | { ok: false; reason: string };

/**
 * The SSRF policy for upstream base URLs (and other URLs the control plane calls itself, such as OAuth
 * token endpoints): absolute http(s) URLs only, no embedded credentials, no query or fragment (the
 * relay appends paths), and a host that `hostRefusal` admits under `policy`: never a link-local, cloud
 * metadata, unspecified, multicast or reserved address (IPv4-mapped and NAT64 spellings included);
 * loopback (`localhost` too) and private addresses only when the policy allows them.
 *
 * Host names are not resolved here: a name that resolves to a refused address must be caught where
 * the connection is made.
 *
 * On success `url` is the normalised base URL without a trailing slash.
 */
export function checkBaseUrl(input: string, policy: UpstreamPolicy): BaseUrlCheck {
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
  const refusal = hostRefusal(url.hostname, policy);
  if (refusal !== null) return { ok: false, reason: refusal };
  return { ok: true, url: url.origin + url.pathname.replace(/\/+$/, '') };
}
