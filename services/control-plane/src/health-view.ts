import { z } from 'zod';
import type { Logger } from 'pino';
import type { CoordinationStore } from '@switchyard/core';
import type { StoredAccount } from './channel-repository.js';
import { toIso } from './iso-time.js';

/** The coordination-store key of a channel-account: cooldowns and health reports are kept under it. */
export function accountCoordinationKey(accountId: number): string {
  return `acct:${accountId}`;
}

export type AccountHealthStatus = 'healthy' | 'cooling_down' | 'circuit_open' | 'disabled';

/** One relay's circuit-breaker report on an account. */
export interface BreakerReportView {
  relay: string;
  state: 'closed' | 'open' | 'half_open';
  requests: number;
  failures: number;
  /** failures / requests within the window, 0..1. */
  error_rate: number;
  updated_at: string;
}

/** An account's health as the admin API shows it. */
export interface AccountHealthView {
  /** disabled > circuit_open (any relay) > cooling_down > healthy. */
  status: AccountHealthStatus;
  cooldown_until: string | null;
  /** One entry per reporting relay, ordered by relay id. */
  breaker: BreakerReportView[];
  /** The most recent error any relay reported, with its time and upstream status. */
  last_error: string | null;
  last_error_at: string | null;
  last_status: number | null;
  disabled_reason: string | null;
}

/** Why 8.64e15: the largest epoch-ms a Date holds; anything beyond cannot be shown as ISO-8601. */
const epochMs = z.int().min(0).max(8.64e15);

/**
 * What a relay stores per account (`reportHealth`), as JSON. Malformed reports are skipped; fields
 * added by newer relays are ignored.
 */
const healthReport = z.object({
  state: z.enum(['closed', 'open', 'half_open']),
  requests: z.int().min(0),
  failures: z.int().min(0),
  errorRate: z.number().min(0).max(1),
  lastError: z.string().nullable(),
  lastErrorAt: epochMs.nullable(),
  lastStatus: z.int().nullable(),
  updatedAt: epochMs,
});
type HealthReport = z.output<typeof healthReport>;

/**
 * The health of each of `accounts` (same order): one `cooldowns` and one `healthReports` call for the
 * whole list. Without a coordination store there are no cooldowns and no breaker reports.
 */
export async function readAccountHealth(
  coordination: CoordinationStore | undefined,
  accounts: readonly StoredAccount[],
  now: number,
  logger: Logger,
): Promise<AccountHealthView[]> {
  if (coordination === undefined || accounts.length === 0) {
    return accounts.map((a) => toAccountHealth(a, 0, {}, now, logger));
  }
  const keys = accounts.map((a) => accountCoordinationKey(a.id));
  const [cooldowns, reports] = await Promise.all([
    coordination.cooldowns(keys),
    coordination.healthReports(keys),
  ]);
  return accounts.map((a, i) => toAccountHealth(a, cooldowns[i] ?? 0, reports[i] ?? {}, now, logger));
}

/** One account's health from its cooldown (epoch ms, 0 = none) and its reports (relay → JSON). */
export function toAccountHealth(
  account: StoredAccount,
  cooldownUntil: number,
  reports: Readonly<Record<string, string>>,
  now: number,
  logger: Logger,
): AccountHealthView {
  const parsed: Array<{ relay: string; report: HealthReport }> = [];
  for (const [relay, text] of Object.entries(reports).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const report = parseReport(text);
    if (report === undefined) {
      logger.warn({ accountId: account.id, relay }, 'malformed account health report ignored');
      continue;
    }
    parsed.push({ relay, report });
  }

  let latest: HealthReport | undefined;
  for (const { report } of parsed) {
    if (report.lastError === null || report.lastErrorAt === null) continue;
    if (latest?.lastErrorAt == null || report.lastErrorAt > latest.lastErrorAt) latest = report;
  }

  const coolingDown = cooldownUntil > now;
  let status: AccountHealthStatus = 'healthy';
  if (!account.enabled) status = 'disabled';
  else if (parsed.some((p) => p.report.state === 'open')) status = 'circuit_open';
  else if (coolingDown) status = 'cooling_down';

  return {
    status,
    cooldown_until: coolingDown ? toIso(cooldownUntil) : null,
    breaker: parsed.map(({ relay, report }) => ({
      relay,
      state: report.state,
      requests: report.requests,
      failures: report.failures,
      error_rate: report.errorRate,
      updated_at: toIso(report.updatedAt),
    })),
    last_error: latest?.lastError ?? null,
    last_error_at: latest?.lastErrorAt == null ? null : toIso(latest.lastErrorAt),
    last_status: latest?.lastStatus ?? null,
    disabled_reason: account.disabledReason,
  };
}

function parseReport(text: string): HealthReport | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const result = healthReport.safeParse(value);
  return result.success ? result.data : undefined;
}
