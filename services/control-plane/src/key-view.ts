import { formatUsd } from '@switchyard/core';
import type { StoredKey } from './key-repository.js';
import { toIso } from './iso-time.js';
import type { PageView } from './page-query.js';

/** A client key as the admin API shows it: the prefix, never the plaintext or the hash. */
export interface KeyView {
  id: number;
  name: string;
  key_prefix: string;
  models: string[] | null;
  expires_at: string | null;
  group: string;
  enabled: boolean;
  pinned_channel_id: number | null;
  excluded_channel_ids: number[];
  user_id: number | null;
  /** USD; null = unlimited. */
  quota: string | null;
  /** Settled spend, USD. */
  used: string;
  /** quota − used (negative when settled spend overshot the quota); null = unlimited. */
  remaining: string | null;
  ip_allowlist: string[] | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  concurrency_limit: number | null;
  last_used_at: string | null;
  /** 'file' when a configuration file manages the key (the next apply reverts API edits). */
  managed_by: 'file' | null;
  created_at: string;
  updated_at: string;
}

/** The answer to POST /keys: the only response that ever carries the plaintext `key`. */
export type CreatedKeyView = KeyView & { key: string };

export type KeyPageView = PageView<KeyView>;

export function toKeyView(key: StoredKey): KeyView {
  return {
    id: key.id,
    name: key.name,
    key_prefix: key.keyPrefix,
    models: key.models,
    expires_at: key.expiresAt === null ? null : toIso(key.expiresAt),
    group: key.group,
    enabled: key.enabled,
    pinned_channel_id: key.pinnedChannelId,
    excluded_channel_ids: key.excludedChannelIds,
    user_id: key.userId,
    quota: key.quotaNano === null ? null : formatUsd(key.quotaNano),
    used: formatUsd(key.usedNano),
    remaining: key.quotaNano === null ? null : formatUsd(key.quotaNano - key.usedNano),
    ip_allowlist: key.ipAllowlist,
    rpm_limit: key.rpmLimit,
    tpm_limit: key.tpmLimit,
    concurrency_limit: key.concurrencyLimit,
    last_used_at: key.lastUsedAt === null ? null : toIso(key.lastUsedAt),
    managed_by: key.managedBy,
    created_at: toIso(key.createdAt),
    updated_at: toIso(key.updatedAt),
  };
}
