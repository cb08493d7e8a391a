import type { UserRow } from '@switchyard/core';

/**
 * The balance and limit columns `users` and `api_keys` both have (quota_nano, used_nano, rpm_limit,
 * tpm_limit, concurrency_limit, last_used_at), as the two repositories read and write them.
 */

/** What a stored user or key carries of them. */
export interface StoredLimits {
  /** Spending limit in nano-USD; null = unlimited. */
  quotaNano: number | null;
  /** Settled spend in nano-USD (accounting adds every usage row's cost). */
  usedNano: number;
  rpmLimit: number | null;
  tpmLimit: number | null;
  concurrencyLimit: number | null;
  /** The newest settled request's time, epoch ms; null before the first. */
  lastUsedAt: number | null;
}

/** The ones an admin sets; the spend and the last use are accounting's. */
export type LimitSettings = Pick<StoredLimits, 'quotaNano' | 'rpmLimit' | 'tpmLimit' | 'concurrencyLimit'>;

/** The columns of a `users` or `api_keys` row (the two tables type them alike). */
type LimitRow = Pick<
  UserRow,
  'quota_nano' | 'used_nano' | 'rpm_limit' | 'tpm_limit' | 'concurrency_limit' | 'last_used_at'
>;

/** Nullable integer columns: BIGINT comes back as a string on MySQL. */
export function numberOrNull(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

export function readLimits(row: LimitRow): StoredLimits {
  return {
    quotaNano: numberOrNull(row.quota_nano),
    usedNano: Number(row.used_nano),
    rpmLimit: numberOrNull(row.rpm_limit),
    tpmLimit: numberOrNull(row.tpm_limit),
    concurrencyLimit: numberOrNull(row.concurrency_limit),
    lastUsedAt: numberOrNull(row.last_used_at),
  };
}

/** The columns of an insert; a setting left out is null (unlimited, no limit). */
export function limitValues(settings: Partial<LimitSettings>) {
  return {
    quota_nano: settings.quotaNano ?? null,
    rpm_limit: settings.rpmLimit ?? null,
    tpm_limit: settings.tpmLimit ?? null,
    concurrency_limit: settings.concurrencyLimit ?? null,
  };
}

/** The columns of an update: only the settings `patch` names (null clears one). */
export function limitChanges(patch: Partial<LimitSettings>) {
  return {
    ...(patch.quotaNano !== undefined && { quota_nano: patch.quotaNano }),
    ...(patch.rpmLimit !== undefined && { rpm_limit: patch.rpmLimit }),
    ...(patch.tpmLimit !== undefined && { tpm_limit: patch.tpmLimit }),
    ...(patch.concurrencyLimit !== undefined && { concurrency_limit: patch.concurrencyLimit }),
  };
}
