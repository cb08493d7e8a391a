import { formatUsd } from '@switchyard/core';
import type { DashboardCaller } from './dashboard-caller.js';
import { toIso } from './iso-time.js';
import type { UsageRecord } from './usage-query.js';
import { toUsageView, type UsageSummaryView, type UsageView } from './usage-view.js';

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
 * One of the caller's usage rows: GET /usage's view of it without the user (the page's `scope` says
 * whose rows these are) and without the channel, account or upstream model (how the gateway served
 * it is the operator's business).
 */
export type DashboardUsageView = Omit<UsageView, 'user_id' | 'channel_id' | 'account_id' | 'upstream_model'>;

export function toDashboardUsageView(row: UsageRecord): DashboardUsageView {
  const {
    user_id: _userId,
    channel_id: _channelId,
    account_id: _accountId,
    upstream_model: _upstreamModel,
    ...view
  } = toUsageView(row);
  return view;
}

export interface DashboardUsagePageView {
  /** Whose usage this is: the caller's user (all its keys) or, for a key of no user, the key. */
  scope: { user_id: number; key_id: null } | { user_id: null; key_id: number };
  summary: UsageSummaryView<'model' | 'key'>;
  data: DashboardUsageView[];
  /** Pass back as `cursor` for the next (older) page of `data`; null on the last page. */
  next_cursor: string | null;
}
