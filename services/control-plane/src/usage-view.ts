import { formatUsd } from '@switchyard/core';
import type { CsvColumn } from './usage-csv.js';
import type { UsageGroupBy } from './usage-input.js';
import type { UsageRecord, UsageSummaryRow } from './usage-query.js';
import { toIso } from './iso-time.js';
import type { PageView } from './page-query.js';

/** One usage row as GET /usage shows it. */
export interface UsageView {
  id: number;
  request_id: string;
  /** The caller's own x-request-id, when it sent one. */
  client_request_id: string | null;
  key_id: number;
  /** The key's user when the request was made, or null. */
  user_id: number | null;
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
  /** What the request was charged, USD as a decimal string. */
  cost: string;
  /** True when some token counts were counted by the gateway rather than reported upstream. */
  partial: boolean;
  status: string;
  http_status: number;
  latency_ms: number;
  stream: boolean;
  error: string | null;
  created_at: string;
}

/** A page of GET /usage, newest first: `next_cursor` names the next (older) page. */
export type UsagePageView = PageView<UsageView>;

export function toUsageView(row: UsageRecord): UsageView {
  return {
    id: row.id,
    request_id: row.requestId,
    client_request_id: row.clientRequestId,
    key_id: row.keyId,
    user_id: row.userId,
    channel_id: row.channelId,
    account_id: row.accountId,
    model: row.model,
    upstream_model: row.upstreamModel,
    prompt_tokens: row.promptTokens,
    completion_tokens: row.completionTokens,
    total_tokens: row.totalTokens,
    cached_tokens: row.cachedTokens,
    reasoning_tokens: row.reasoningTokens,
    cost: formatUsd(row.costNano),
    partial: row.partial,
    status: row.status,
    http_status: row.httpStatus,
    latency_ms: row.latencyMs,
    stream: row.stream,
    error: row.error,
    created_at: toIso(row.createdAt),
  };
}

/** The CSV export of GET /usage: the view's fields, in the view's order. */
export const USAGE_CSV_COLUMNS: readonly CsvColumn<UsageView>[] = (
  [
    'id',
    'request_id',
    'client_request_id',
    'key_id',
    'user_id',
    'channel_id',
    'account_id',
    'model',
    'upstream_model',
    'prompt_tokens',
    'completion_tokens',
    'total_tokens',
    'cached_tokens',
    'reasoning_tokens',
    'cost',
    'partial',
    'status',
    'http_status',
    'latency_ms',
    'stream',
    'error',
    'created_at',
  ] as const satisfies readonly (keyof UsageView)[]
).map((field) => ({ header: field, value: (v: UsageView) => v[field] }));

/** One UTC day × group value of GET /usage/summary. */
export interface UsageSummaryRowView {
  day: string;
  /** The model name, or the key, user or channel id (null: no user / no channel). */
  group: string | number | null;
  requests: number;
  errors: number;
  aborted: number;
  /** errors / requests. */
  error_rate: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
  cost: string;
  latency_p50_ms: number;
  latency_p95_ms: number;
}

export interface UsageSummaryView<G extends UsageGroupBy = UsageGroupBy> {
  group_by: G;
  since: string;
  until: string;
  data: UsageSummaryRowView[];
}

/** A summary over `range` (epoch ms) grouped by `groupBy`, of rows already viewed. */
export function toUsageSummaryView<G extends UsageGroupBy>(
  groupBy: G,
  range: { since: number; until: number },
  data: UsageSummaryRowView[],
): UsageSummaryView<G> {
  return { group_by: groupBy, since: toIso(range.since), until: toIso(range.until), data };
}

export function toUsageSummaryRowView(row: UsageSummaryRow): UsageSummaryRowView {
  return {
    day: row.day,
    group: row.group,
    requests: row.requests,
    errors: row.errors,
    aborted: row.aborted,
    // Why 6 decimals: a rate to a millionth is beyond any dashboard's need and avoids 0.30000000000000004.
    error_rate: row.requests === 0 ? 0 : Math.round((row.errors / row.requests) * 1e6) / 1e6,
    prompt_tokens: row.promptTokens,
    completion_tokens: row.completionTokens,
    cached_tokens: row.cachedTokens,
    reasoning_tokens: row.reasoningTokens,
    total_tokens: row.totalTokens,
    cost: formatUsd(row.costNano),
    latency_p50_ms: row.latencyP50Ms,
    latency_p95_ms: row.latencyP95Ms,
  };
}

/** The summary's group column as CSV names it, so the file says what it is grouped by. */
const GROUP_HEADERS = { model: 'model', key: 'key_id', user: 'user_id', channel: 'channel_id' } as const;

/** The CSV export of GET /usage/summary: the row view's fields, the group column named by `groupBy`. */
export function usageSummaryCsvColumns(groupBy: UsageGroupBy): CsvColumn<UsageSummaryRowView>[] {
  const fields = [
    'day',
    'group',
    'requests',
    'errors',
    'aborted',
    'error_rate',
    'prompt_tokens',
    'completion_tokens',
    'cached_tokens',
    'reasoning_tokens',
    'total_tokens',
    'cost',
    'latency_p50_ms',
    'latency_p95_ms',
  ] as const satisfies readonly (keyof UsageSummaryRowView)[];
  return fields.map((field) => ({
    header: field === 'group' ? GROUP_HEADERS[groupBy] : field,
    value: (v: UsageSummaryRowView) => v[field],
  }));
}
