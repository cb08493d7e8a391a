import { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNodeSqliteDialect } from '@switchyard/adapters';
import { type DB, migrateToLatest, type UsageEvent } from '@switchyard/core';
import { UsageWriter } from '@switchyard/accounting';

function usageEvent(n: number, overrides: Partial<UsageEvent> = {}): UsageEvent {
  return {
    requestId: `req-${n}`,
    clientRequestId: null,
    keyId: 1,
    userId: null,
    channelId: 2,
    accountId: 3,
    model: 'gpt-4o',
    upstreamModel: 'gpt-4o-2024-08-06',
    promptTokens: 10 + n,
    completionTokens: 5,
    totalTokens: 15 + n,
    cachedTokens: 0,
    reasoningTokens: 0,
    costNano: 0,
    partial: false,
    status: 'ok',
    httpStatus: 200,
    latencyMs: 120,
    stream: false,
    error: null,
    createdAt: 1_800_000_000_000 + n,
    ...overrides,
  };
}

describe('UsageWriter on SQLite', () => {
  let db: Kysely<DB>;
  let writer: UsageWriter;

  beforeEach(async () => {
    db = new Kysely<DB>({ dialect: createNodeSqliteDialect(':memory:') });
    await migrateToLatest(db);
    writer = new UsageWriter(db);
  });
  afterEach(async () => {
    await db.destroy();
  });

  const requestIds = async () =>
    (await db.selectFrom('usage_logs').select('request_id').orderBy('id').execute()).map((r) => r.request_id);

  it('when the same events are written twice, then each lands once and the second write reports 0 new rows', async () => {
    const events = [usageEvent(1), usageEvent(2), usageEvent(3)];
    expect(await writer.write(events)).toBe(3);
    expect(await writer.write(events)).toBe(0);
    expect(await requestIds()).toEqual(['req-1', 'req-2', 'req-3']);
  });

  it('when one batch holds the same request id twice, then it collapses to one row (the first occurrence)', async () => {
    const first = usageEvent(1, { totalTokens: 100 });
    const repeat = usageEvent(1, { totalTokens: 999 });
    expect(await writer.write([first, usageEvent(2), repeat])).toBe(2);

    const rows = await db
      .selectFrom('usage_logs')
      .select(['request_id', 'total_tokens'])
      .orderBy('id')
      .execute();
    expect(rows).toEqual([
      { request_id: 'req-1', total_tokens: 100 },
      { request_id: 'req-2', total_tokens: 17 },
    ]);
  });

  it('when a batch mixes written and new ids, then only the new ones are inserted and counted, and old rows keep their values', async () => {
    await writer.write([usageEvent(1, { totalTokens: 100 })]);
    expect(await writer.write([usageEvent(1, { totalTokens: 999 }), usageEvent(2), usageEvent(3)])).toBe(2);

    expect(await requestIds()).toEqual(['req-1', 'req-2', 'req-3']);
    const old = await db
      .selectFrom('usage_logs')
      .select('total_tokens')
      .where('request_id', '=', 'req-1')
      .executeTakeFirstOrThrow();
    expect(old.total_tokens).toBe(100);
  });

  it('when the batch is empty, then nothing is written and 0 is returned', async () => {
    expect(await writer.write([])).toBe(0);
    expect(await requestIds()).toEqual([]);
  });

  it('when events are written, then every field lands in its column (stream as 1/0, nulls kept)', async () => {
    const full = usageEvent(1, {
      requestId: 'req-full',
      clientRequestId: 'client-abc-123',
      keyId: 7,
      userId: 5,
      channelId: 8,
      accountId: 9,
      model: 'gpt-4o-mini',
      upstreamModel: 'gpt-4o-mini-2024-07-18',
      promptTokens: 11,
      completionTokens: 22,
      totalTokens: 33,
      cachedTokens: 4,
      reasoningTokens: 7,
      costNano: 1_234_567,
      partial: true,
      status: 'aborted',
      httpStatus: 200,
      latencyMs: 4567,
      stream: true,
      error: 'client_closed',
      createdAt: 1_800_000_000_123,
    });
    const sparse = usageEvent(2, {
      requestId: 'req-sparse',
      clientRequestId: null,
      channelId: null,
      accountId: null,
      upstreamModel: null,
      promptTokens: 0,
      completionTokens: 0,
      totalTokens: 0,
      status: 'error',
      httpStatus: 503,
      latencyMs: 3,
      stream: false,
      error: 'no_healthy_upstream',
      createdAt: 1_800_000_000_456,
    });
    await writer.write([full, sparse]);

    const rows = await db.selectFrom('usage_logs').selectAll().orderBy('id').execute();
    expect(rows).toEqual([
      {
        id: expect.any(Number),
        request_id: 'req-full',
        client_request_id: 'client-abc-123',
        key_id: 7,
        user_id: 5,
        channel_id: 8,
        account_id: 9,
        model: 'gpt-4o-mini',
        upstream_model: 'gpt-4o-mini-2024-07-18',
        prompt_tokens: 11,
        completion_tokens: 22,
        total_tokens: 33,
        cached_tokens: 4,
        reasoning_tokens: 7,
        cost_nano: 1_234_567,
        partial: 1,
        status: 'aborted',
        http_status: 200,
        latency_ms: 4567,
        stream: 1,
        error: 'client_closed',
        created_at: 1_800_000_000_123,
      },
      {
        id: expect.any(Number),
        request_id: 'req-sparse',
        client_request_id: null,
        key_id: 1,
        user_id: null,
        channel_id: null,
        account_id: null,
        model: 'gpt-4o',
        upstream_model: null,
        prompt_tokens: 0,
        completion_tokens: 0,
        total_tokens: 0,
        cached_tokens: 0,
        reasoning_tokens: 0,
        cost_nano: 0,
        partial: 0,
        status: 'error',
        http_status: 503,
        latency_ms: 3,
        stream: 0,
        error: 'no_healthy_upstream',
        created_at: 1_800_000_000_456,
      },
    ]);
  });

  it('when events of one day, key, model and channel are written in two batches, then usage_daily sums their cached and reasoning tokens', async () => {
    await writer.write([
      usageEvent(1, { cachedTokens: 3, reasoningTokens: 2 }),
      usageEvent(2, { cachedTokens: 4, reasoningTokens: 0 }),
    ]);
    await writer.write([usageEvent(3, { cachedTokens: 5, reasoningTokens: 1 })]);
    // A redelivered event adds nothing.
    await writer.write([usageEvent(1, { cachedTokens: 3, reasoningTokens: 2 })]);
    const daily = await db
      .selectFrom('usage_daily')
      .select(['requests', 'prompt_tokens', 'cached_tokens', 'reasoning_tokens'])
      .execute();
    expect(daily).toEqual([{ requests: 3, prompt_tokens: 36, cached_tokens: 12, reasoning_tokens: 3 }]);
  });

  it('when a model name or error is longer than its column, then it is cut to the column width', async () => {
    await writer.write([
      usageEvent(1, { model: 'm'.repeat(300), upstreamModel: 'u'.repeat(300), error: 'e'.repeat(400) }),
    ]);
    const row = await db
      .selectFrom('usage_logs')
      .select(['model', 'upstream_model', 'error'])
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ model: 'm'.repeat(191), upstream_model: 'u'.repeat(191), error: 'e'.repeat(255) });
  });

  it('when the table is unavailable, then write rejects and nothing is recorded as written', async () => {
    await db.schema.alterTable('usage_logs').renameTo('usage_logs_offline').execute();
    await expect(writer.write([usageEvent(1)])).rejects.toThrow(/no such table/);
    await db.schema.alterTable('usage_logs_offline').renameTo('usage_logs').execute();
    expect(await writer.write([usageEvent(1)])).toBe(1);
  });
});
