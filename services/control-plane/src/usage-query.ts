import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { DB, UsageEvent, UsageLogRow } from '@switchyard/core';
import { DAY_MS, type UsageGroupBy } from './usage-input.js';
import { nearestRank } from './usage-percentile.js';

/** One usage log row, typed and coerced: the usage event as written, plus its row id. */
export type UsageRecord = Omit<UsageEvent, 'status'> & {
  id: number;
  /** A UsageStatus for rows this build wrote; kept a string so older or newer values still read. */
  status: string;
};

/** Which rows a list or a summary covers; every field given narrows it (AND). */
export interface UsageFilter {
  userId?: number;
  keyId?: number;
  /** Exact model the client asked for. */
  model?: string;
  channelId?: number;
  status?: string;
  /** Only rows created at or after this epoch-ms instant. */
  since?: number;
  /** Only rows created before this epoch-ms instant. */
  until?: number;
}

export interface UsagePageRequest extends UsageFilter {
  /** Only rows with an id below this one (keyset pagination, newest first). */
  beforeId?: number;
  limit: number;
}

export interface UsagePage {
  rows: UsageRecord[];
  /** True when rows older than the last one returned also match the filter. */
  hasMore: boolean;
}

/** One UTC day × group value of a usage summary. */
export interface UsageSummaryRow {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  /** The model name, or the key, user or channel id (null: rows of no user / no channel). */
  group: string | number | null;
  requests: number;
  /** Rows with status `error`. */
  errors: number;
  /** Rows with status `aborted` (the client went away). */
  aborted: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  costNano: number;
  /** Nearest-rank percentiles of `latency_ms`. */
  latencyP50Ms: number;
  latencyP95Ms: number;
}

const GROUP_COLUMNS = {
  model: 'model',
  key: 'key_id',
  user: 'user_id',
  channel: 'channel_id',
} as const satisfies Record<UsageGroupBy, keyof DB['usage_logs']>;

/**
 * The row's UTC day as the epoch ms of its midnight: `floor(created_at / 86400000) * 86400000`
 * spelled with integer subtraction and modulo, which both SQLite and MySQL evaluate exactly (MySQL's
 * `/` would return a decimal). created_at is never negative, so the modulo is the floor's remainder.
 */
const DAY_START = sql<number>`(created_at - created_at % ${sql.lit(DAY_MS)})`;

/** Reads usage logs: pages newest first (keyset pagination, so deep pages stay cheap) and summaries. */
export class UsageQuery {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  async page(request: UsagePageRequest): Promise<UsagePage> {
    let query = applyFilter(this.#db.selectFrom('usage_logs').selectAll(), request);
    if (request.beforeId !== undefined) query = query.where('id', '<', request.beforeId);
    // One extra row tells whether another page exists without a COUNT.
    const rows = await query
      .orderBy('id', 'desc')
      .limit(request.limit + 1)
      .execute();
    return { rows: rows.slice(0, request.limit).map(toUsage), hasMore: rows.length > request.limit };
  }

  /**
   * Per UTC day and group value, oldest day first: counts, token and cost sums, and exact
   * nearest-rank latency percentiles. Sums come from one GROUP BY; the percentiles from streaming the
   * range's latencies sorted by (day, group, latency), picking the ranked values as they pass, so
   * memory stays one entry per group however many rows the range holds. Both queries run in one
   * transaction, so they see the same rows, and walk the groups in the same (database) order, so the
   * stream is matched to the sums by position, whatever the column's collation considers equal.
   */
  async summary(
    filter: UsageFilter & { since: number; until: number },
    groupBy: UsageGroupBy,
  ): Promise<UsageSummaryRow[]> {
    const column = GROUP_COLUMNS[groupBy];
    return this.#db.transaction().execute(async (trx) => {
      const sums = await applyFilter(trx.selectFrom('usage_logs'), filter)
        .select((eb) => [
          DAY_START.as('day_start'),
          eb.ref(column).as('grp'),
          eb.fn.countAll<number | string>().as('requests'),
          eb.fn
            .sum<number | string>(eb.case().when('status', '=', 'error').then(1).else(0).end())
            .as('errors'),
          eb.fn
            .sum<number | string>(eb.case().when('status', '=', 'aborted').then(1).else(0).end())
            .as('aborted'),
          eb.fn.sum<number | string>('prompt_tokens').as('prompt'),
          eb.fn.sum<number | string>('completion_tokens').as('completion'),
          eb.fn.sum<number | string>('cached_tokens').as('cached'),
          eb.fn.sum<number | string>('reasoning_tokens').as('reasoning'),
          eb.fn.sum<number | string>('total_tokens').as('total'),
          eb.fn.sum<number | string>('cost_nano').as('cost'),
        ])
        .groupBy([sql`day_start`, sql`grp`])
        .orderBy(sql`day_start`)
        .orderBy(sql`grp`)
        .execute();
      const rows: UsageSummaryRow[] = sums.map((s) => ({
        day: new Date(Number(s.day_start)).toISOString().slice(0, 10),
        group: s.grp === null ? null : column === 'model' ? String(s.grp) : Number(s.grp),
        requests: Number(s.requests),
        errors: Number(s.errors ?? 0),
        aborted: Number(s.aborted ?? 0),
        promptTokens: Number(s.prompt ?? 0),
        completionTokens: Number(s.completion ?? 0),
        cachedTokens: Number(s.cached ?? 0),
        reasoningTokens: Number(s.reasoning ?? 0),
        totalTokens: Number(s.total ?? 0),
        costNano: Number(s.cost ?? 0),
        latencyP50Ms: 0,
        latencyP95Ms: 0,
      }));
      if (rows.length === 0) return rows;

      const latencies = applyFilter(trx.selectFrom('usage_logs'), filter)
        .select([DAY_START.as('day_start'), sql.ref(column).as('grp'), 'latency_ms'])
        .orderBy(sql`day_start`)
        .orderBy(sql`grp`)
        .orderBy('latency_ms')
        .stream(1000);
      let group = 0;
      let seen = 0;
      let ranks = ranksOf(rows[0]!.requests);
      for await (const { latency_ms } of latencies) {
        const row = rows[group];
        if (row === undefined) continue; // cannot happen within one snapshot; never index past the end
        seen++;
        if (seen === ranks.p50) row.latencyP50Ms = Number(latency_ms);
        if (seen === ranks.p95) row.latencyP95Ms = Number(latency_ms);
        if (seen === row.requests) {
          group++;
          seen = 0;
          if (group < rows.length) ranks = ranksOf(rows[group]!.requests);
        }
      }
      return rows;
    });
  }
}

function ranksOf(n: number): { p50: number; p95: number } {
  return { p50: nearestRank(50, n), p95: nearestRank(95, n) };
}

function applyFilter<O>(
  query: SelectQueryBuilder<DB, 'usage_logs', O>,
  f: UsageFilter,
): SelectQueryBuilder<DB, 'usage_logs', O> {
  let q = query;
  if (f.userId !== undefined) q = q.where('user_id', '=', f.userId);
  if (f.keyId !== undefined) q = q.where('key_id', '=', f.keyId);
  if (f.model !== undefined) q = q.where('model', '=', f.model);
  if (f.channelId !== undefined) q = q.where('channel_id', '=', f.channelId);
  if (f.status !== undefined) q = q.where('status', '=', f.status);
  if (f.since !== undefined) q = q.where('created_at', '>=', f.since);
  if (f.until !== undefined) q = q.where('created_at', '<', f.until);
  return q;
}

function toUsage(row: UsageLogRow): UsageRecord {
  return {
    id: Number(row.id),
    requestId: row.request_id,
    clientRequestId: row.client_request_id,
    keyId: Number(row.key_id),
    userId: row.user_id === null ? null : Number(row.user_id),
    channelId: row.channel_id === null ? null : Number(row.channel_id),
    accountId: row.account_id === null ? null : Number(row.account_id),
    model: row.model,
    upstreamModel: row.upstream_model,
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    totalTokens: Number(row.total_tokens),
    cachedTokens: Number(row.cached_tokens),
    reasoningTokens: Number(row.reasoning_tokens),
    costNano: Number(row.cost_nano),
    partial: Number(row.partial) === 1,
    status: row.status,
    httpStatus: Number(row.http_status),
    latencyMs: Number(row.latency_ms),
    stream: Number(row.stream) === 1,
    error: row.error,
    createdAt: Number(row.created_at),
  };
}
