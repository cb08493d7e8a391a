import type { UsageEvent } from '@switchyard/core';

/**
 * Encodes a usage event as one line of JSON, as spooled on disk and carried by JetStream. Every field
 * is named here, so the type checker flags a new UsageEvent field until it is put on the wire.
 */
export function encodeUsageEvent(e: UsageEvent): string {
  const wire: UsageEvent = {
    requestId: e.requestId,
    clientRequestId: e.clientRequestId,
    keyId: e.keyId,
    userId: e.userId,
    channelId: e.channelId,
    accountId: e.accountId,
    model: e.model,
    upstreamModel: e.upstreamModel,
    promptTokens: e.promptTokens,
    completionTokens: e.completionTokens,
    totalTokens: e.totalTokens,
    cachedTokens: e.cachedTokens,
    reasoningTokens: e.reasoningTokens,
    costNano: e.costNano,
    partial: e.partial,
    status: e.status,
    httpStatus: e.httpStatus,
    latencyMs: e.latencyMs,
    stream: e.stream,
    error: e.error,
    createdAt: e.createdAt,
  };
  return JSON.stringify(wire);
}

/**
 * Decodes one JSON-encoded usage event. Returns null when the text is not JSON or not an object with
 * a string `requestId`. Events written by older relays lack newer fields and read as their defaults:
 * `cachedTokens`/`reasoningTokens` 0, `userId` null, `costNano` 0 (nothing to settle), `partial`
 * false; an ill-typed value of these fields reads as its default too.
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
    userId: id(v.userId),
    costNano: count(v.costNano),
    partial: v.partial === true,
  };
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0;
}

function id(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : null;
}
