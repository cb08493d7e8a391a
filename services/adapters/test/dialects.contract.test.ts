import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, type Kysely } from 'kysely';
import { MIGRATIONS, migrateToLatest, type DB } from '@switchyard/core';
import { DIALECTS } from './dialects.js';

for (const dialect of DIALECTS) {
  describe(`the store on ${dialect.name}`, () => {
    let db: Kysely<DB>;
    let dispose: () => Promise<void>;

    beforeAll(async () => {
      ({ db, dispose } = await dialect.open());
      await migrateToLatest(db);
    });
    afterAll(async () => {
      await dispose?.();
    });

    it('when the migrations run again, then nothing is applied and every migration is recorded once', async () => {
      const again = await migrateToLatest(db);
      expect(again.results).toEqual([]);
      const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
      expect(rows.rows.map((r) => r.name)).toEqual(Object.keys(MIGRATIONS).sort());
    });

    it('when a row is written, then flags, nulls, epoch milliseconds and 4-byte unicode read back unchanged', async () => {
      const now = 1_800_000_000_123;
      const inserted = await db
        .insertInto('api_keys')
        .values({
          name: 'ключ 🔑 名前',
          key_hash: 'a'.repeat(64),
          key_prefix: 'sk-sy-abcdef',
          models: null,
          expires_at: now,
          group_name: 'default',
          enabled: 1,
          created_at: now,
          updated_at: now,
        })
        .executeTakeFirstOrThrow();
      const id = Number(inserted.insertId);
      expect(id).toBeGreaterThan(0);
      const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      expect(row.name).toBe('ключ 🔑 名前');
      expect(row.models).toBeNull();
      expect(Number(row.expires_at)).toBe(now);
      expect(Number(row.enabled)).toBe(1);
    });

    it('when a usage row repeats a request id, then the unique index refuses it', async () => {
      const row = {
        request_id: `req-${dialect.name}`,
        client_request_id: null,
        key_id: 1,
        channel_id: null,
        account_id: null,
        model: 'm',
        upstream_model: null,
        prompt_tokens: 1,
        completion_tokens: 2,
        total_tokens: 3,
        cached_tokens: 0,
        reasoning_tokens: 0,
        status: 'ok',
        http_status: 200,
        latency_ms: 5,
        stream: 0,
        error: null,
        created_at: Date.now(),
      };
      await db.insertInto('usage_logs').values(row).execute();
      await expect(db.insertInto('usage_logs').values(row).execute()).rejects.toThrow();
      const n = await db
        .selectFrom('usage_logs')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('request_id', '=', row.request_id)
        .executeTakeFirstOrThrow();
      expect(Number(n.n)).toBe(1);
    });

    it('when a transaction throws, then none of its writes remain', async () => {
      await expect(
        db.transaction().execute(async (trx) => {
          await trx
            .insertInto('settings')
            .values({ name: 'rolled-back', value: 'x', updated_at: 1 })
            .execute();
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      const row = await db
        .selectFrom('settings')
        .selectAll()
        .where('name', '=', 'rolled-back')
        .executeTakeFirst();
      expect(row).toBeUndefined();
    });
  });
}
