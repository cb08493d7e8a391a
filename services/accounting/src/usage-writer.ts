import type { Kysely } from 'kysely';
import type { DB, NewUsageLogRow, UsageEvent } from '@switchyard/core';

/**
 * Writes usage events to `usage_logs` exactly once per request id. Portable across SQLite and MySQL:
 * ids already present are filtered out inside the transaction, and a concurrent writer that wins a
 * race makes the unique index fail the batch, which the bus then redelivers and this filter skips.
 */
export class UsageWriter {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Returns how many rows were new. */
  async write(events: readonly UsageEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const unique = new Map<string, UsageEvent>();
    for (const e of events) if (!unique.has(e.requestId)) unique.set(e.requestId, e);
    return this.#db.transaction().execute(async (trx) => {
      const existing = await trx
        .selectFrom('usage_logs')
        .select('request_id')
        .where('request_id', 'in', [...unique.keys()])
        .execute();
      for (const row of existing) unique.delete(row.request_id);
      if (unique.size === 0) return 0;
      await trx
        .insertInto('usage_logs')
        .values([...unique.values()].map(toRow))
        .execute();
      return unique.size;
    });
  }
}

function toRow(e: UsageEvent): NewUsageLogRow {
  return {
    request_id: e.requestId,
    client_request_id: e.clientRequestId,
    key_id: e.keyId,
    channel_id: e.channelId,
    account_id: e.accountId,
    model: e.model.slice(0, 191),
    upstream_model: e.upstreamModel?.slice(0, 191) ?? null,
    prompt_tokens: e.promptTokens,
    completion_tokens: e.completionTokens,
    total_tokens: e.totalTokens,
    status: e.status,
    http_status: e.httpStatus,
    latency_ms: e.latencyMs,
    stream: e.stream ? 1 : 0,
    error: e.error?.slice(0, 255) ?? null,
    created_at: e.createdAt,
  };
}
