import { z } from 'zod';
import { InvalidRequestError } from '@switchyard/core';
import { parseIsoInstant } from './iso-time.js';
import { idQuery, limitQuery, queryValue } from './page-query.js';
import { decodeUsageCursor } from './usage-cursor.js';

export const DAY_MS = 86_400_000;
/**
 * Why 93 days: a quarter (three 31-day months) is the longest report the dashboards ask for; the
 * summary reads every row of the range to compute exact percentiles, so the range must be bounded.
 */
export const SUMMARY_MAX_DAYS = 93;
/** A summary without `since` covers the 30 days before `until`. */
export const SUMMARY_DEFAULT_DAYS = 30;

export const USAGE_STATUSES = ['ok', 'error', 'aborted'] as const;
export const USAGE_GROUP_BYS = ['model', 'key', 'user', 'channel'] as const;
export type UsageGroupBy = (typeof USAGE_GROUP_BYS)[number];

const idParam = idQuery.optional();
const instantParam = queryValue(
  parseIsoInstant,
  'must be an ISO-8601 date or date-time with a time zone',
).optional();
const formatParam = z.enum(['json', 'csv']).optional();

/** Filters shared by GET /usage, GET /usage/summary and the dashboard. */
const filterFields = {
  user_id: idParam,
  key_id: idParam,
  model: z.string().min(1).max(191).optional(),
  channel_id: idParam,
  status: z.enum(USAGE_STATUSES).optional(),
  /** Inclusive. */
  since: instantParam,
  /** Exclusive. */
  until: instantParam,
};

const pageFields = {
  limit: limitQuery.optional(),
  cursor: queryValue(decodeUsageCursor, 'is not a cursor returned by this endpoint').optional(),
};

/** Query of GET /usage. Unknown parameters are ignored, as query strings customarily are. */
export const usageQueryInput = z.object({ ...filterFields, ...pageFields, format: formatParam });
export type UsageQueryInput = z.output<typeof usageQueryInput>;

/** Query of GET /usage/summary. */
export const usageSummaryInput = z.object({
  ...filterFields,
  group_by: z.enum(USAGE_GROUP_BYS).optional(),
  format: formatParam,
});
export type UsageSummaryInput = z.output<typeof usageSummaryInput>;

/** Query of GET /v1/dashboard/usage: the caller's own rows, so no user, channel or format choice. */
export const dashboardUsageInput = z.object({
  key_id: filterFields.key_id,
  model: filterFields.model,
  status: filterFields.status,
  since: filterFields.since,
  until: filterFields.until,
  group_by: z.enum(['model', 'key']).optional(),
  ...pageFields,
});
export type DashboardUsageInput = z.output<typeof dashboardUsageInput>;

/**
 * The summary's range: `until` defaults to now, `since` to 30 days before `until`; `since` must be
 * before `until` and at most 93 days earlier (400 otherwise, naming `since`).
 */
export function summaryRange(
  since: number | undefined,
  until: number | undefined,
  now: number,
): { since: number; until: number } {
  const end = until ?? now;
  const start = since ?? end - SUMMARY_DEFAULT_DAYS * DAY_MS;
  if (start >= end) {
    throw new InvalidRequestError("'since' must be before 'until'.", {
      code: 'invalid_range',
      param: 'since',
    });
  }
  if (end - start > SUMMARY_MAX_DAYS * DAY_MS) {
    throw new InvalidRequestError(
      `A usage summary covers at most ${SUMMARY_MAX_DAYS} days; 'since' is ${Math.ceil((end - start) / DAY_MS)} days before 'until'. Ask for a shorter range (or several).`,
      { code: 'range_too_long', param: 'since' },
    );
  }
  return { since: start, until: end };
}

/** True when the response should be CSV: `format=csv`, or no `format` and an Accept header preferring text/csv. */
export function wantsCsv(
  format: 'json' | 'csv' | undefined,
  accepts: (types: string[]) => string | false,
): boolean {
  if (format !== undefined) return format === 'csv';
  return accepts(['application/json', 'text/csv']) === 'text/csv';
}
