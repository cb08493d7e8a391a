import { z } from 'zod';
import { InvalidRequestError } from '@switchyard/core';
import { nameField } from './admin-fields.js';
import { checkUpstreamUrl, type UpstreamPolicy } from './upstream-policy.js';

/** A proxy URL that passed checkProxyUrl. */
export interface CheckedProxyUrl {
  /** Normalised (`scheme://[user[:password]@]host[:port]`): the secret that is stored encrypted. */
  url: string;
  /** The same URL with any credentials replaced by `***`, safe to store and show. */
  displayUrl: string;
}

/**
 * The one place proxy URLs are checked: http, https, socks5 or socks5h, a host (and a port for socks),
 * optional `user:password@`, nothing after the authority, and a host the gateway's SSRF `policy`
 * admits (upstream-policy.ts). Throws a 400 naming `url` whose message never quotes the URL (it may
 * carry a password).
 */
export function checkProxyUrl(input: string, policy: UpstreamPolicy): CheckedProxyUrl {
  const check = checkUpstreamUrl(input, policy);
  if (!check.ok) throw new InvalidRequestError(`'url': ${check.reason}`, { param: 'url' });
  return { url: check.url, displayUrl: check.displayUrl };
}

/** Checked by checkProxyUrl in the handler: the policy depends on the gateway's configuration. */
const proxyUrlField = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  // Why 2048: the display_url column's length, and far beyond any real proxy URL.
  .max(2048);

const proxyFields = {
  name: nameField,
  url: proxyUrlField,
  // null = no cap. Why 1e6: a cap beyond any deployment's account count, kept in an integer column.
  max_accounts: z.int().min(1).max(1_000_000).nullable(),
  enabled: z.boolean(),
};

/** Body of POST /proxies; no cap and enabled unless given. */
export const proxyCreateInput = z.strictObject({
  ...proxyFields,
  max_accounts: proxyFields.max_accounts.optional(),
  enabled: proxyFields.enabled.optional(),
});
export type ProxyCreateInput = z.output<typeof proxyCreateInput>;

/** Body of PATCH /proxies/:id. */
export const proxyPatchInput = z.strictObject(proxyFields).partial();
export type ProxyPatchInput = z.output<typeof proxyPatchInput>;
