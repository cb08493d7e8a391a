import { UpstreamError, type Channel } from '@switchyard/core';

/** A channel's base URL split the way adapters build request paths from it. */
export interface BaseUrl {
  /** `scheme://host[:port]`. */
  origin: string;
  /** `host[:port]` as sent in the Host header. */
  host: string;
  hostname: string;
  /** The path without a trailing slash ('' for the root). */
  path: string;
  /** The query string including its `?`, or ''. */
  search: string;
}

/**
 * Parses the channel's base URL. A channel without a usable one is a configuration fault of that
 * channel: the error is retryable so the relay moves on to the next candidate.
 */
export function parseBaseUrl(channel: Channel): BaseUrl {
  let url: URL;
  try {
    url = new URL(channel.baseUrl);
  } catch {
    throw misconfigured(channel, 'has no valid base_url');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw misconfigured(channel, 'needs an http(s) base_url');
  return {
    origin: url.origin,
    host: url.host,
    hostname: url.hostname,
    path: url.pathname.replace(/\/+$/, ''),
    search: url.search,
  };
}

/** `path` without `suffix` at its end (case-insensitive), e.g. a base given with its `/v1`. */
export function stripSuffix(path: string, suffix: string): string {
  return path.toLowerCase().endsWith(suffix.toLowerCase())
    ? path.slice(0, path.length - suffix.length)
    : path;
}

/** A channel that cannot be used as configured (no base URL, a missing option, ...). */
export function misconfigured(channel: Channel, what: string): UpstreamError {
  return new UpstreamError(`Channel ${channel.id} (${channel.provider}) ${what}.`, {
    retryable: true,
    code: 'upstream_misconfigured',
  });
}
