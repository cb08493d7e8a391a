import {
  InvalidRequestError,
  PROVIDER_CATALOG,
  type ChannelOptions,
  type ProviderId,
} from '@switchyard/core';
import { checkBaseUrl } from './base-url-policy.js';
import type { UpstreamPolicy } from './upstream-policy.js';

/** Options whose value becomes a DNS label of the derived base URL's host (Bedrock's region, Vertex's location). */
const HOST_LABEL_OPTIONS = new Set(['region', 'location']);

/** One DNS label, lower-case: `us-east-1`, `europe-west4`, `global`. */
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Values travel in headers and URLs: no control characters. */
const CONTROL_CHARACTER = /\p{Cc}/u;

/**
 * Checks a channel's options against its provider's catalogue entry: every key must be one the provider
 * reads, URL-valued options (`*_url`, e.g. Vertex's token_url) pass the base-URL SSRF policy under
 * `policy` and are normalised like it, region/location are DNS labels. Throws a 400 naming
 * `options.<key>`; returns the options to store (only those given: catalogue defaults apply at request
 * time).
 */
export function checkChannelOptions(
  provider: ProviderId,
  options: Readonly<ChannelOptions>,
  policy: UpstreamPolicy,
): ChannelOptions {
  const specs = PROVIDER_CATALOG[provider].options;
  const known = Object.keys(specs);
  const out: ChannelOptions = {};
  for (const [key, value] of Object.entries(options)) {
    const param = `options.${key}`;
    if (!Object.hasOwn(specs, key)) {
      const takes = known.length === 0 ? 'it takes no options' : `it takes: ${known.join(', ')}`;
      throw invalidOption(param, `unknown option for provider '${provider}' (${takes})`);
    }
    out[key] = checkValue(param, key, value, policy);
  }
  for (const [key, spec] of Object.entries(specs)) {
    if (spec.required && spec.default === null && out[key] === undefined) {
      throw invalidOption(`options.${key}`, `is required for provider '${provider}'`);
    }
  }
  return out;
}

function checkValue(param: string, key: string, value: string, policy: UpstreamPolicy): string {
  if (CONTROL_CHARACTER.test(value)) throw invalidOption(param, 'must not contain control characters');
  if (key.endsWith('_url')) {
    const check = checkBaseUrl(value, policy);
    if (!check.ok) throw invalidOption(param, check.reason);
    return check.url;
  }
  if (HOST_LABEL_OPTIONS.has(key) && !DNS_LABEL.test(value)) {
    throw invalidOption(param, 'must be a lower-case name of letters, digits and dashes (e.g. us-east-1)');
  }
  return value;
}

function invalidOption(param: string, message: string): InvalidRequestError {
  return new InvalidRequestError(`'${param}': ${message}`, { param });
}
