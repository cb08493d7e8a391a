import type { UsageEvent } from '@switchyard/core';

/**
 * Decodes one JSON-encoded usage event, as spooled on disk or carried by JetStream. Returns null when the
 * text is not JSON or not an object with a string `requestId`. Events written by relays that predate
 * `cachedTokens`/`reasoningTokens` lack those fields; they (and any non-count value) read as 0.
 */
export function decodeUsageEvent(text: string): UsageEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null; // not JSON
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.requestId !== 'string') return null;
  return {
    ...(value as UsageEvent),
    cachedTokens: count(v.cachedTokens),
    reasoningTokens: count(v.reasoningTokens),
  };
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0;
}
