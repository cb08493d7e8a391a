import type { IncomingHttpHeaders } from 'node:http';

/** The request header that sets the cached prompt tokens of one answer. */
export const CACHED_TOKENS_HEADER = 'x-mock-cached-tokens';

/** The cached prompt tokens a request asks for: header `x-mock-cached-tokens` (an integer >= 0), else `fallback`. */
export function requestedCachedTokens(headers: IncomingHttpHeaders, fallback: number): number {
  const raw = headers[CACHED_TOKENS_HEADER];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}
