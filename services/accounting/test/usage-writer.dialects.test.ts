import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import { migrateToLatest, type DB, type UsageEvent } from '@switchyard/core';
import { UsageWriter } from '@switchyard/accounting';
import { DIALECTS } from '../../adapters/test/dialects.js';

/** `tokens` prompt tokens, half of them (rounded down) cached; one completion token, reasoning when `tokens` is odd. */
function event(requestId: string, tokens: number): UsageEvent {
  return {
    requestId,
    clientRequestId: null,
    keyId: 7,
    userId: null,
    channelId: 1,
    accountId: 2,
    model: 'gpt-4o',
    upstreamModel: 'gpt-4o',
    promptTokens: tokens,
    completionTokens: 1,
    totalTokens: tokens + 1,
    cachedTokens: Math.floor(tokens / 2),
    reasoningTokens: tokens % 2,
    costNano: 0,
    partial: false,
    status: 'ok',
    httpStatus: 200,
    latencyMs: 3,
    stream: false,
    error: null,
    createdAt: 1_800_000_000_000,
  };
}

for (const dialect of DIALECTS) {
  describe(`usage ledger on ${dialect.name}`, () => {
    let db: Kysely<DB>;
    let dispose: () => Promise<void>;
    beforeAll(async () => {
      ({ db, dispose } = await dialect.open());
      await migrateToLatest(db);
    });
    afterAll(async () => {
      await dispose?.();
    });

    it('when the same batch is delivered three times, then each request is written once and the token sum is exact', async () => {
      const w = new UsageWriter(db);
      const batch = Array.from({ length: 50 }, (_, i) => event(`${dialect.name}-a-${i}`, i));
      expect(await w.write(batch)).toBe(50);
      expect(await w.write(batch)).toBe(0);
      expect(await w.write([...batch.slice(10, 20), event(`${dialect.name}-a-new`, 1000)])).toBe(1);
      const sum = await db
        .selectFrom('usage_logs')
        .select((eb) => [
          eb.fn.countAll().as('n'),
          eb.fn.sum('prompt_tokens').as('p'),
          eb.fn.sum('cached_tokens').as('c'),
          eb.fn.sum('reasoning_tokens').as('r'),
        ])
        .where('request_id', 'like', `${dialect.name}-a-%`)
        .executeTakeFirstOrThrow();
      expect(Number(sum.n)).toBe(51);
      expect(Number(sum.p)).toBe((49 * 50) / 2 + 1000);
      // floor(i / 2) for i < 50 is 0, 0, 1, 1, … 24, 24; plus 500 for the 1000-token event.
      expect(Number(sum.c)).toBe(2 * ((24 * 25) / 2) + 500);
      // The 25 odd-token events each spent their one completion token reasoning.
      expect(Number(sum.r)).toBe(25);
    });

    it('when two writers race on the same events, then the loser fails or writes nothing, and a retry adds no duplicate', async () => {
      const a = new UsageWriter(db);
      const b = new UsageWriter(db);
      const batch = Array.from({ length: 20 }, (_, i) => event(`${dialect.name}-race-${i}`, 1));
      const results = await Promise.allSettled([a.write(batch), b.write(batch)]);
      const written = results.map((r) => (r.status === 'fulfilled' ? r.value : 0));
      expect(written.reduce((x, y) => x + y, 0)).toBe(20);
      // The bus redelivers a failed batch: the retry finds every id present.
      expect(await b.write(batch)).toBe(0);
      const n = await db
        .selectFrom('usage_logs')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('request_id', 'like', `${dialect.name}-race-%`)
        .executeTakeFirstOrThrow();
      expect(Number(n.n)).toBe(20);
    });

    it('when batches, redeliveries and races are done, then the daily aggregates equal the sums of the rows', async () => {
      const w = new UsageWriter(db);
      // Another day, another channel and an error, so several groups exist.
      await w.write([
        {
          ...event(`${dialect.name}-agg-1`, 5),
          createdAt: 1_800_086_400_000,
          channelId: null,
          status: 'error',
        },
        { ...event(`${dialect.name}-agg-2`, 6), createdAt: 1_800_086_400_000, channelId: null },
      ]);
      const fromRows = await db
        .selectFrom('usage_logs')
        .select((eb) => [
          'key_id',
          'model',
          eb.fn.countAll().as('requests'),
          eb.fn.sum('prompt_tokens').as('prompt'),
          eb.fn.sum('total_tokens').as('total'),
          eb.fn.sum('cached_tokens').as('cached'),
          eb.fn.sum('reasoning_tokens').as('reasoning'),
        ])
        .groupBy(['key_id', 'model'])
        .execute();
      const daily = await db
        .selectFrom('usage_daily')
        .select((eb) => [
          'key_id',
          'model',
          eb.fn.sum('requests').as('requests'),
          eb.fn.sum('prompt_tokens').as('prompt'),
          eb.fn.sum('total_tokens').as('total'),
          eb.fn.sum('cached_tokens').as('cached'),
          eb.fn.sum('reasoning_tokens').as('reasoning'),
        ])
        .groupBy(['key_id', 'model'])
        .execute();
      const norm = (rows: Array<Record<string, unknown>>) =>
        rows.map((r) => ({
          key_id: Number(r.key_id),
          model: r.model,
          requests: Number(r.requests),
          prompt: Number(r.prompt),
          total: Number(r.total),
          cached: Number(r.cached),
          reasoning: Number(r.reasoning),
        }));
      expect(norm(daily)).toEqual(norm(fromRows));
      // Cached: 1100 from the first test, 0 from the race, 2 + 3 here; reasoning: 25, 20 × 1, 1 + 0.
      expect(norm(daily).map((r) => [r.cached, r.reasoning])).toEqual([[1105, 46]]);
      const groups = await db
        .selectFrom('usage_daily')
        .selectAll()
        .orderBy('day')
        .orderBy('channel_id')
        .execute();
      expect(
        groups.map((g) => [
          g.day,
          Number(g.channel_id),
          Number(g.requests),
          Number(g.errors),
          Number(g.cached_tokens),
          Number(g.reasoning_tokens),
        ]),
      ).toEqual([
        ['2027-01-15', 1, 71, 0, 1100, 45],
        ['2027-01-16', 0, 2, 1, 5, 1],
      ]);
    });
  });
}
