import type { AccountStrategy, ProviderId } from '@switchyard/core';
import type { StoredAccount, StoredChannel } from './channel-repository.js';
import { toIso } from './iso-time.js';

/** A channel as the admin API shows it. Upstream keys never appear, in plaintext or encrypted. */
export interface ChannelView {
  id: number;
  name: string;
  provider: ProviderId;
  /** The effective base URL: the channel's own, or its provider's default. */
  base_url: string;
  /** Provider options as set on the channel (catalogue defaults are not filled in). */
  options: Record<string, string>;
  models: string[];
  model_mapping: Record<string, string>;
  priority: number;
  weight: number;
  /** The first of `groups` (clients of the API before `groups`). */
  group: string;
  groups: string[];
  enabled: boolean;
  account_strategy: AccountStrategy;
  sticky_sessions: boolean;
  /** null = the relay's configured default (SWITCHYARD_UPSTREAM_*_TIMEOUT_MS). */
  connect_timeout_ms: number | null;
  first_byte_timeout_ms: number | null;
  idle_timeout_ms: number | null;
  breaker: {
    error_threshold_percent: number;
    volume_threshold: number;
    reset_timeout_ms: number;
    window_ms: number;
  };
  accounts: AccountSummaryView[];
  /** 'file' when a configuration file manages the channel (the next apply reverts API edits). */
  managed_by: 'file' | null;
  created_at: string;
  updated_at: string;
}

export function toChannelView(channel: StoredChannel): ChannelView {
  return {
    id: channel.id,
    name: channel.name,
    provider: channel.provider,
    base_url: channel.baseUrl,
    options: channel.options,
    models: channel.models,
    model_mapping: channel.modelMapping,
    priority: channel.priority,
    weight: channel.weight,
    group: channel.groups[0] ?? 'default',
    groups: channel.groups,
    enabled: channel.enabled,
    account_strategy: channel.accountStrategy,
    sticky_sessions: channel.stickySessions,
    connect_timeout_ms: channel.timeouts.connectMs,
    first_byte_timeout_ms: channel.timeouts.firstByteMs,
    idle_timeout_ms: channel.timeouts.idleMs,
    breaker: {
      error_threshold_percent: channel.breaker.errorThresholdPercent,
      volume_threshold: channel.breaker.volumeThreshold,
      reset_timeout_ms: channel.breaker.resetTimeoutMs,
      window_ms: channel.breaker.windowMs,
    },
    accounts: channel.accounts.map(toAccountSummaryView),
    managed_by: channel.managedBy,
    created_at: toIso(channel.createdAt),
    updated_at: toIso(channel.updatedAt),
  };
}

/** An account inside a channel view. Never the credential, in plaintext or encrypted. */
export interface AccountSummaryView {
  id: number;
  name: string;
  enabled: boolean;
  kind: 'api_key' | 'oauth';
  /** Why the account is out of rotation (admin or automatic), or null. */
  disabled_reason: string | null;
  disabled_by: 'admin' | 'auto' | null;
  proxy_id: number | null;
  managed_by: 'file' | null;
}

export function toAccountSummaryView(a: StoredAccount): AccountSummaryView {
  // Listed field by field so a new column (like the credential) can never leak by accident.
  return {
    id: a.id,
    name: a.name,
    enabled: a.enabled,
    kind: a.kind,
    disabled_reason: a.disabledReason,
    disabled_by: a.disabledBy,
    proxy_id: a.proxyId,
    managed_by: a.managedBy,
  };
}
