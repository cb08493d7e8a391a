import type { Kysely, Transaction } from 'kysely';
import type { DB, NewUsageLogRow, UsageDailyTable, UsageEvent } from '@switchyard/core';

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
      const fresh = [...unique.values()];
      await trx.insertInto('usage_logs').values(fresh.map(toRow)).execute();
      await addToDaily(trx, fresh, Date.now());
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
    cached_tokens: e.cachedTokens,
    reasoning_tokens: e.reasoningTokens,
    status: e.status,
    http_status: e.httpStatus,
    latency_ms: e.latencyMs,
    stream: e.stream ? 1 : 0,
    error: e.error?.slice(0, 255) ?? null,
    created_at: e.createdAt,
  };
}

/** One `usage_daily` row's key and the amounts a batch adds to it. */
type DailyTotals = Omit<UsageDailyTable, 'updated_at'>;

/**
 * Adds the batch's new rows to `usage_daily` in the same transaction, so the aggregates can never
 * disagree with the rows. Update-then-insert is portable across SQLite and MySQL; two writers that
 * both insert a new day row make one transaction fail, and its batch is redelivered and re-added.
 */
async function addToDaily(trx: Transaction<DB>, events: readonly UsageEvent[], now: number): Promise<void> {
  const groups = new Map<string, DailyTotals>();
  for (const e of events) {
    const day = new Date(e.createdAt).toISOString().slice(0, 10);
    const model = e.model.slice(0, 191);
    const channel = e.channelId ?? 0;
    const id = `${day}\u0000${e.keyId}\u0000${model}\u0000${channel}`;
    let g = groups.get(id);
    if (g === undefined) {
      g = {
        day,
        key_id: e.keyId,
        model,
        channel_id: channel,
        requests: 0,
        errors: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        total_tokens: 0,
        cached_tokens: 0,
        reasoning_tokens: 0,
        latency_ms_sum: 0,
      };
      groups.set(id, g);
    }
    g.requests++;
    if (e.status !== 'ok') g.errors++;
    g.prompt_tokens += e.promptTokens;
    g.completion_tokens += e.completionTokens;
    g.total_tokens += e.totalTokens;
    g.cached_tokens += e.cachedTokens;
    g.reasoning_tokens += e.reasoningTokens;
    g.latency_ms_sum += e.latencyMs;
  }
  for (const g of groups.values()) {
    const updated = await trx
      .updateTable('usage_daily')
      .set((eb) => ({
        requests: eb('requests', '+', g.requests),
        errors: eb('errors', '+', g.errors),
        prompt_tokens: eb('prompt_tokens', '+', g.prompt_tokens),
        completion_tokens: eb('completion_tokens', '+', g.completion_tokens),
        total_tokens: eb('total_tokens', '+', g.total_tokens),
        cached_tokens: eb('cached_tokens', '+', g.cached_tokens),
        reasoning_tokens: eb('reasoning_tokens', '+', g.reasoning_tokens),
        latency_ms_sum: eb('latency_ms_sum', '+', g.latency_ms_sum),
        updated_at: now,
      }))
      .where('day', '=', g.day)
      .where('key_id', '=', g.key_id)
      .where('model', '=', g.model)
      .where('channel_id', '=', g.channel_id)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) {
      await trx
        .insertInto('usage_daily')
        .values({ ...g, updated_at: now })
        .execute();
    }
  }
}
