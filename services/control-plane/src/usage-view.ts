import type { UsageRecord } from './usage-query.js';
import { toIso } from './iso-time.js';

/** One usage row as GET /usage shows it. */
export interface UsageView {
  id: number;
  request_id: string;
  /** The caller's own x-request-id, when it sent one. */
  client_request_id: string | null;
  key_id: number;
  channel_id: number | null;
  account_id: number | null;
  model: string;
  upstream_model: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Prompt tokens read from the provider's cache (part of prompt_tokens); 0 when not reported. */
  cached_tokens: number;
  /** Completion tokens spent on reasoning (part of completion_tokens); 0 when not reported. */
  reasoning_tokens: number;
  status: string;
  http_status: number;
  latency_ms: number;
  stream: boolean;
  error: string | null;
  created_at: string;
}

export interface UsagePageView {
  data: UsageView[];
  /** Pass back as `cursor` for the next (older) page; null on the last page. */
  next_cursor: string | null;
}

export function toUsageView(row: UsageRecord): UsageView {
  return {
    id: row.id,
    request_id: row.requestId,
    client_request_id: row.clientRequestId,
    key_id: row.keyId,
    channel_id: row.channelId,
    account_id: row.accountId,
    model: row.model,
    upstream_model: row.upstreamModel,
    prompt_tokens: row.promptTokens,
    completion_tokens: row.completionTokens,
    total_tokens: row.totalTokens,
    cached_tokens: row.cachedTokens,
    reasoning_tokens: row.reasoningTokens,
    status: row.status,
    http_status: row.httpStatus,
    latency_ms: row.latencyMs,
    stream: row.stream,
    error: row.error,
    created_at: toIso(row.createdAt),
  };
}
