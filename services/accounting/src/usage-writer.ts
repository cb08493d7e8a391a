import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB, NewUsageLogRow, UsageDailyTable, UsageEvent } from '@switchyard/core';

/**
 * Writes usage events to `usage_logs` exactly once per request id and settles them: in the same
 * transaction as the new rows, each row's cost is added to its key's and its user's `used_nano`
 * and to `usage_daily`, so the ledger, the balances and the aggregates can never disagree.
 *
 * Portable across SQLite and MySQL: ids already present are filtered out inside the transaction, and
 * a concurrent writer that wins a race makes the unique index fail the batch, which the bus then
 * redelivers and this filter skips. A redelivered event therefore changes nothing, balances included.
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
      await settle(trx, fresh);
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
    user_id: e.userId,
    channel_id: e.channelId,
    account_id: e.accountId,
    model: e.model.slice(0, 191),
    upstream_model: e.upstreamModel?.slice(0, 191) ?? null,
    prompt_tokens: e.promptTokens,
    completion_tokens: e.completionTokens,
    total_tokens: e.totalTokens,
    cached_tokens: e.cachedTokens,
    reasoning_tokens: e.reasoningTokens,
    cost_nano: e.costNano,
    partial: e.partial ? 1 : 0,
    status: e.status,
    http_status: e.httpStatus,
    latency_ms: e.latencyMs,
    stream: e.stream ? 1 : 0,
    error: e.error?.slice(0, 255) ?? null,
    created_at: e.createdAt,
  };
}

/** What one batch adds to one key's or user's balance. */
interface Charge {
  costNano: number;
  /** The newest request time among the batch's rows for this key or user. */
  lastUsedAt: number;
}

function addCharge(charges: Map<number, Charge>, id: number, e: UsageEvent): void {
  const c = charges.get(id);
  if (c === undefined) charges.set(id, { costNano: e.costNano, lastUsedAt: e.createdAt });
  else {
    c.costNano += e.costNano;
    c.lastUsedAt = Math.max(c.lastUsedAt, e.createdAt);
  }
}

/**
 * Adds the new rows' cost to `api_keys.used_nano` and `users.used_nano`, one relative UPDATE per key
 * and per user of the batch (never read-modify-write, so concurrent writers cannot lose an amount),
 * and moves `last_used_at` forward only. Rows of a deleted key or user still count in the ledger;
 * their UPDATE simply matches nothing. Ids are updated in ascending order so two writers lock the
 * same rows in the same order and cannot deadlock each other on MySQL.
 */
async function settle(trx: Transaction<DB>, events: readonly UsageEvent[]): Promise<void> {
  const keys = new Map<number, Charge>();
  const users = new Map<number, Charge>();
  for (const e of events) {
    addCharge(keys, e.keyId, e);
    if (e.userId !== null) addCharge(users, e.userId, e);
  }
  for (const [id, c] of [...keys].sort(([a], [b]) => a - b)) {
    await trx
      .updateTable('api_keys')
      .set((eb) => ({
        used_nano: eb('used_nano', '+', c.costNano),
        last_used_at: laterOf(c.lastUsedAt),
      }))
      .where('id', '=', id)
      .execute();
  }
  for (const [id, c] of [...users].sort(([a], [b]) => a - b)) {
    await trx
      .updateTable('users')
      .set((eb) => ({
        used_nano: eb('used_nano', '+', c.costNano),
        last_used_at: laterOf(c.lastUsedAt),
      }))
      .where('id', '=', id)
      .execute();
  }
}

/** `greatest(last_used_at, at)` treating NULL as "never", spelled portably (SQLite has no GREATEST). */
function laterOf(at: number) {
  return sql<number>`case when last_used_at is null or last_used_at < ${at} then ${at} else last_used_at end`;
}

/** One `usage_daily` row's key and the amounts a batch adds to it. */
type DailyTotals = Omit<UsageDailyTable, 'updated_at' | 'cost_nano'> & { cost_nano: number };

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
        cost_nano: 0,
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
    g.cost_nano += e.costNano;
  }
  // Sorted for the same reason as the balances: concurrent writers take row locks in one order.
  for (const [, g] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
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
        cost_nano: eb('cost_nano', '+', g.cost_nano),
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
