import type { UsageEvent } from '@switchyard/core';

/** The n-th test usage event: request id `req-<n>`, n prompt tokens, one completion token. */
export function usageEvent(n: number): UsageEvent {
  return {
    requestId: `req-${n}`,
    clientRequestId: null,
    keyId: 1,
    userId: null,
    channelId: 2,
    accountId: 3,
    model: 'gpt-4o',
    upstreamModel: 'gpt-4o',
    promptTokens: n,
    completionTokens: 1,
    totalTokens: n + 1,
    cachedTokens: 0,
    reasoningTokens: 0,
    costNano: 0,
    partial: false,
    status: 'ok',
    httpStatus: 200,
    latencyMs: 10,
    stream: false,
    error: null,
    createdAt: 1_800_000_000_000 + n,
  };
}

/** The request ids of `events`, in order. */
export const ids = (events: readonly UsageEvent[]): string[] => events.map((e) => e.requestId);
