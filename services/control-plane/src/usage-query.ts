import type { Kysely } from 'kysely';
import type { DB, UsageEvent, UsageLogRow } from '@switchyard/core';

/** One usage log row, typed and coerced: the usage event as written, plus its row id. */
export type UsageRecord = Omit<UsageEvent, 'status'> & {
  id: number;
  /** A UsageStatus for rows this build wrote; kept a string so older or newer values still read. */
  status: string;
};

export interface UsageFilter {
  keyId?: number;
  /** Exact model the client asked for. */
  model?: string;
  /** Only rows created at or after this epoch-ms instant. */
  since?: number;
  /** Only rows with an id below this one (keyset pagination, newest first). */
  beforeId?: number;
  limit: number;
}

export interface UsagePage {
  rows: UsageRecord[];
  /** True when rows older than the last one returned also match the filter. */
  hasMore: boolean;
}

/** Reads usage logs newest first (by id), with keyset pagination so deep pages stay cheap. */
export class UsageQuery {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  async page(filter: UsageFilter): Promise<UsagePage> {
    let query = this.#db.selectFrom('usage_logs').selectAll();
    if (filter.keyId !== undefined) query = query.where('key_id', '=', filter.keyId);
    if (filter.model !== undefined) query = query.where('model', '=', filter.model);
    if (filter.since !== undefined) query = query.where('created_at', '>=', filter.since);
    if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId);
    // One extra row tells whether another page exists without a COUNT.
    const rows = await query
      .orderBy('id', 'desc')
      .limit(filter.limit + 1)
      .execute();
    return { rows: rows.slice(0, filter.limit).map(toUsage), hasMore: rows.length > filter.limit };
  }
}

function toUsage(row: UsageLogRow): UsageRecord {
  return {
    id: Number(row.id),
    requestId: row.request_id,
    clientRequestId: row.client_request_id,
    keyId: Number(row.key_id),
    channelId: row.channel_id === null ? null : Number(row.channel_id),
    accountId: row.account_id === null ? null : Number(row.account_id),
    model: row.model,
    upstreamModel: row.upstream_model,
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    totalTokens: Number(row.total_tokens),
    cachedTokens: Number(row.cached_tokens),
    reasoningTokens: Number(row.reasoning_tokens),
    status: row.status,
    httpStatus: Number(row.http_status),
    latencyMs: Number(row.latency_ms),
    stream: Number(row.stream) === 1,
    error: row.error,
    createdAt: Number(row.created_at),
  };
}
