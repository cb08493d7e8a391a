import { formatUsd } from '@switchyard/core';
import type { DashboardCaller } from './dashboard-caller.js';
import { toIso } from './iso-time.js';
import type { UsageRecord } from './usage-query.js';
import type { UsageSummaryView } from './usage-view.js';

/** A balance: the limit, the settled spend and what is left, USD as decimal strings. */
interface BalanceView {
  /** Null: unlimited. */
  quota: string | null;
  used: string;
  /** quota − used, never below 0; null when unlimited. */
  remaining: string | null;
  last_used_at: string | null;
}

export interface DashboardBalanceView {
  key: BalanceView & { id: number; name: string; key_prefix: string; expires_at: string | null };
  /** Null for a key of no user. */
  user: (BalanceView & { id: number; name: string }) | null;
}

function balance(quotaNano: number | null, usedNano: number, lastUsedAt: number | null): BalanceView {
  return {
    quota: quotaNano === null ? null : formatUsd(quotaNano),
    used: formatUsd(usedNano),
    remaining: quotaNano === null ? null : formatUsd(Math.max(0, quotaNano - usedNano)),
    last_used_at: lastUsedAt === null ? null : toIso(lastUsedAt),
  };
}

export function toDashboardBalanceView(caller: DashboardCaller): DashboardBalanceView {
  const { key, user } = caller;
  return {
    key: {
      id: key.id,
      name: key.name,
      key_prefix: key.keyPrefix,
      expires_at: key.expiresAt === null ? null : toIso(key.expiresAt),
      ...balance(key.quotaNano, key.usedNano, key.lastUsedAt),
    },
    user:
      user === null
        ? null
        : { id: user.id, name: user.name, ...balance(user.quotaNano, user.usedNano, user.lastUsedAt) },
  };
}

/**
 * One of the caller's usage rows. Only what the caller itself sent and got back: no channel, account
 * or upstream model (how the gateway served it is the operator's business), no other user's data.
 */
export interface DashboardUsageView {
  id: number;
  request_id: string;
  client_request_id: string | null;
  key_id: number;
  model: string;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  cost: string;
  partial: boolean;
  status: string;
  http_status: number;
  latency_ms: number;
  stream: boolean;
  error: string | null;
  created_at: string;
}

export function toDashboardUsageView(row: UsageRecord): DashboardUsageView {
  return {
    id: row.id,
    request_id: row.requestId,
    client_request_id: row.clientRequestId,
    key_id: row.keyId,
    model: row.model,
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

export interface DashboardUsagePageView {
  /** Whose usage this is: the caller's user (all its keys) or, for a key of no user, the key. */
  scope: { user_id: number; key_id: null } | { user_id: null; key_id: number };
  summary: UsageSummaryView & { group_by: 'model' | 'key' };
  data: DashboardUsageView[];
  /** Pass back as `cursor` for the next (older) page of `data`; null on the last page. */
  next_cursor: string | null;
}
