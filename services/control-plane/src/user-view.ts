import { formatUsd } from '@switchyard/core';
import { toIso } from './iso-time.js';
import type { PageView } from './page-query.js';
import type { StoredUser } from './user-repository.js';

/** A user as the admin API shows it; money as USD decimal strings. */
export interface UserView {
  id: number;
  name: string;
  email: string | null;
  group: string;
  enabled: boolean;
  /** USD; null = unlimited. */
  quota: string | null;
  /** Settled spend, USD. */
  used: string;
  /** quota − used (negative when settled spend overshot the quota); null = unlimited. */
  remaining: string | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  concurrency_limit: number | null;
  /** Keys the user owns. */
  keys: number;
  last_used_at: string | null;
  /** 'file' when a configuration file manages the user (the next apply reverts API edits). */
  managed_by: 'file' | null;
  created_at: string;
  updated_at: string;
}

export type UserPageView = PageView<UserView>;

export function toUserView(user: StoredUser): UserView {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    group: user.group,
    enabled: user.enabled,
    quota: user.quotaNano === null ? null : formatUsd(user.quotaNano),
    used: formatUsd(user.usedNano),
    remaining: user.quotaNano === null ? null : formatUsd(user.quotaNano - user.usedNano),
    rpm_limit: user.rpmLimit,
    tpm_limit: user.tpmLimit,
    concurrency_limit: user.concurrencyLimit,
    keys: user.keys,
    last_used_at: user.lastUsedAt === null ? null : toIso(user.lastUsedAt),
    managed_by: user.managedBy,
    created_at: toIso(user.createdAt),
    updated_at: toIso(user.updatedAt),
  };
}
