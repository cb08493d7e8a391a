import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import { migrateToLatest, type DB, type UsageEvent } from '@switchyard/core';
import { UsageWriter } from '@switchyard/accounting';
import { DIALECTS } from '../../adapters/test/dialects.js';
import { chargedEvent, insertKey, insertUser, keyBalance, userBalance } from './ledger-fixtures.js';

const DAY = 86_400_000;
const T0 = 1_800_000_000_000;

/** A small deterministic generator (LCG), so a failing run can be replayed exactly. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Everything settlement touches, as numbers, for "nothing changed" comparisons. */
async function ledgerState(db: Kysely<DB>): Promise<unknown> {
  const keys = await db
    .selectFrom('api_keys')
    .select(['id', 'used_nano', 'last_used_at'])
    .orderBy('id')
    .execute();
  const users = await db
    .selectFrom('users')
    .select(['id', 'used_nano', 'last_used_at'])
    .orderBy('id')
    .execute();
  const daily = await db
    .selectFrom('usage_daily')
    .select(['day', 'key_id', 'model', 'channel_id', 'requests', 'cost_nano'])
    .orderBy(['day', 'key_id', 'model', 'channel_id'])
    .execute();
  const rows = await db
    .selectFrom('usage_logs')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  const num = (r: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v]),
    );
  return { keys: keys.map(num), users: users.map(num), daily: daily.map(num), rows: Number(rows.n) };
}

/** Per key_id / user_id: SUM(cost_nano) over the ledger's rows. */
async function ledgerSums(db: Kysely<DB>, column: 'key_id' | 'user_id'): Promise<Map<number, number>> {
  const rows = await db
    .selectFrom('usage_logs')
    .select((eb) => [eb.ref(column).as('id'), eb.fn.sum<number | string>('cost_nano').as('cost')])
    .where(column, 'is not', null)
    .groupBy(column)
    .execute();
  return new Map(rows.map((r) => [Number(r.id), Number(r.cost)]));
}

for (const dialect of DIALECTS) {
  describe(`settlement on ${dialect.name}`, () => {
    let db: Kysely<DB>;
    let dispose: () => Promise<void>;
    beforeAll(async () => {
      ({ db, dispose } = await dialect.open());
      await migrateToLatest(db);
    });
    afterAll(async () => {
      await dispose?.();
    });

    it('when rows of two keys of one user are written, then each key and the user are charged exactly their cost, and last_used_at is the newest request', async () => {
      const user = await insertUser(db, 1);
      const a = await insertKey(db, 1, user);
      const b = await insertKey(db, 2, user);
      const w = new UsageWriter(db);
      expect(
        await w.write([
          chargedEvent('simple-1', a, user, 1_500, { createdAt: T0 + 5 }),
          chargedEvent('simple-2', a, user, 2_500, { createdAt: T0 + 9 }),
          chargedEvent('simple-3', b, user, 7, { createdAt: T0 + 7 }),
        ]),
      ).toBe(3);
      expect(await keyBalance(db, a)).toEqual({ used_nano: 4_000, last_used_at: T0 + 9 });
      expect(await keyBalance(db, b)).toEqual({ used_nano: 7, last_used_at: T0 + 7 });
      expect(await userBalance(db, user)).toEqual({ used_nano: 4_007, last_used_at: T0 + 9 });

      // An older request settled later adds its cost but does not move last_used_at backwards.
      await w.write([chargedEvent('simple-4', a, user, 10, { createdAt: T0 + 1 })]);
      expect(await keyBalance(db, a)).toEqual({ used_nano: 4_010, last_used_at: T0 + 9 });
      expect(await userBalance(db, user)).toEqual({ used_nano: 4_017, last_used_at: T0 + 9 });

      const row = await db
        .selectFrom('usage_logs')
        .select(['user_id', 'cost_nano', 'partial'])
        .where('request_id', '=', 'simple-2')
        .executeTakeFirstOrThrow();
      expect({ ...row, cost_nano: Number(row.cost_nano) }).toEqual({
        user_id: user,
        cost_nano: 2_500,
        partial: 0,
      });
    });

    it('when a settled batch is delivered again (alone or mixed into a new one), then no balance, aggregate or row changes but the new event', async () => {
      const user = await insertUser(db, 2);
      const key = await insertKey(db, 3, user);
      const w = new UsageWriter(db);
      const batch = [1, 2, 3].map((i) => chargedEvent(`redeliver-${i}`, key, user, 1_000 * i));
      expect(await w.write(batch)).toBe(3);
      const settled = await ledgerState(db);

      expect(await w.write(batch)).toBe(0);
      expect(await w.write([...batch].reverse())).toBe(0);
      expect(await ledgerState(db)).toEqual(settled);

      expect(await w.write([...batch, chargedEvent('redeliver-4', key, user, 4)])).toBe(1);
      expect(await keyBalance(db, key)).toEqual({ used_nano: 6_004, last_used_at: T0 });
      expect(await userBalance(db, user)).toEqual({ used_nano: 6_004, last_used_at: T0 });
    });

    it('when an event names a deleted key and user, then its row still lands in the ledger and the aggregates', async () => {
      const w = new UsageWriter(db);
      expect(
        await w.write([chargedEvent('orphan-1', 999_999, 888_888, 123, { model: 'orphan-model' })]),
      ).toBe(1);
      const row = await db
        .selectFrom('usage_logs')
        .select(['key_id', 'user_id', 'cost_nano'])
        .where('request_id', '=', 'orphan-1')
        .executeTakeFirstOrThrow();
      expect({ ...row, cost_nano: Number(row.cost_nano) }).toEqual({
        key_id: 999_999,
        user_id: 888_888,
        cost_nano: 123,
      });
      const daily = await db
        .selectFrom('usage_daily')
        .select('cost_nano')
        .where('model', '=', 'orphan-model')
        .executeTakeFirstOrThrow();
      expect(Number(daily.cost_nano)).toBe(123);
    });

    it('when many batches with duplicates and redeliveries go through concurrent writers, then every used_nano equals SUM(cost_nano) of its rows', async () => {
      const rand = random(dialect.name === 'mysql' ? 7 : 11);
      const users = [await insertUser(db, 10), await insertUser(db, 11), await insertUser(db, 12)];
      // Two keys for the first two users, one for the third, and one key of no user.
      const owners = [users[0]!, users[0]!, users[1]!, users[1]!, users[2]!, null];
      const keys: Array<{ id: number; user: number | null }> = [];
      for (const [i, user] of owners.entries()) keys.push({ id: await insertKey(db, 20 + i, user), user });

      const events: UsageEvent[] = Array.from({ length: 600 }, (_, i) => {
        const key = keys[Math.floor(rand() * keys.length)]!;
        // Mostly small costs, some up to 1000 USD per request, so sums pass 2^32 and 2^40 (and stay
        // far below MAX_NANOS, the largest balance money.ts allows).
        const cost = rand() < 0.05 ? Math.floor(rand() * 1e12) : Math.floor(rand() * 5_000_000);
        return chargedEvent(`bulk-${i}`, key.id, key.user, cost, {
          createdAt: T0 + Math.floor(rand() * 3 * DAY),
          model: rand() < 0.5 ? 'gpt-4o' : 'claude-sonnet-4',
          status: rand() < 0.1 ? 'error' : 'ok',
        });
      });

      // Batches of 1..40 events; a third of them repeat events of earlier batches or of themselves.
      const batches: UsageEvent[][] = [];
      for (let i = 0; i < events.length;) {
        const size = 1 + Math.floor(rand() * 40);
        const batch = events.slice(i, i + size);
        i = Math.min(events.length, i + size);
        if (rand() < 0.33) {
          for (let d = 0; d < 3; d++) batch.push(events[Math.floor(rand() * i)]!);
        }
        batches.push(batch);
      }

      // Four writers share one queue, as accounting replicas share the durable consumer. Every fifth
      // batch is handed to two writers at once (a redelivery racing the original); a failed batch
      // goes back to the queue, as the bus redelivers it.
      const queue = batches.flatMap((b, i) => (i % 5 === 0 ? [b, b] : [b]));
      const writers = Array.from({ length: 4 }, () => new UsageWriter(db));
      let failures = 0;
      let written = 0;
      await Promise.all(
        writers.map(async (w) => {
          for (let batch = queue.shift(); batch !== undefined; batch = queue.shift()) {
            try {
              const n = await w.write(batch);
              written += n;
            } catch {
              failures++;
              if (failures > 500) throw new Error('writers keep failing; the ledger is not converging');
              queue.push(batch);
            }
          }
        }),
      );
      // A last full redelivery of everything changes nothing.
      const settled = await ledgerState(db);
      for (const batch of batches) expect(await writers[0]!.write(batch)).toBe(0);
      expect(await ledgerState(db)).toEqual(settled);

      expect(written).toBe(events.length);
      const expectedByKey = new Map<number, number>();
      const expectedByUser = new Map<number, number>();
      const lastByKey = new Map<number, number>();
      for (const e of events) {
        expectedByKey.set(e.keyId, (expectedByKey.get(e.keyId) ?? 0) + e.costNano);
        lastByKey.set(e.keyId, Math.max(lastByKey.get(e.keyId) ?? 0, e.createdAt));
        if (e.userId !== null) expectedByUser.set(e.userId, (expectedByUser.get(e.userId) ?? 0) + e.costNano);
      }
      expect(Math.max(...expectedByKey.values())).toBeGreaterThan(2 ** 40);

      const byKey = await ledgerSums(db, 'key_id');
      for (const k of keys) {
        const balance = await keyBalance(db, k.id);
        expect(balance.used_nano, `key ${k.id}`).toBe(expectedByKey.get(k.id) ?? 0);
        expect(balance.used_nano, `key ${k.id}`).toBe(byKey.get(k.id) ?? 0);
        expect(balance.last_used_at, `key ${k.id}`).toBe(lastByKey.get(k.id) ?? null);
      }
      const byUser = await ledgerSums(db, 'user_id');
      for (const u of users) {
        const balance = await userBalance(db, u);
        expect(balance.used_nano, `user ${u}`).toBe(expectedByUser.get(u) ?? 0);
        expect(balance.used_nano, `user ${u}`).toBe(byUser.get(u) ?? 0);
      }

      const bulkKeys = keys.map((k) => k.id);
      const daily = await db
        .selectFrom('usage_daily')
        .select((eb) => [
          eb.fn.sum<number | string>('cost_nano').as('cost'),
          eb.fn.sum<number | string>('requests').as('n'),
        ])
        .where('key_id', 'in', bulkKeys)
        .executeTakeFirstOrThrow();
      const total = events.reduce((sum, e) => sum + e.costNano, 0);
      expect({ cost: Number(daily.cost), n: Number(daily.n) }).toEqual({ cost: total, n: events.length });
    });
  });
}
