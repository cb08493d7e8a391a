import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNodeSqliteDialect } from '@switchyard/adapters';
import { MIGRATIONS, type DB, migrateToLatest, type NewApiKeyRow } from '@switchyard/core';

interface SqliteTarget {
  name: string;
  /** Returns the path to open and a cleanup for whatever the target created. */
  prepare(): { path: string; cleanup(): void };
}

const TARGETS: SqliteTarget[] = [
  {
    name: 'temp file',
    prepare: () => {
      const dir = mkdtempSync(join(tmpdir(), 'switchyard-sqlite-'));
      return {
        path: join(dir, 'switchyard.db'),
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  { name: ':memory:', prepare: () => ({ path: ':memory:', cleanup: () => {} }) },
];

const EPOCH_MS = 1_800_000_000_000;

function apiKeyRow(overrides: Partial<NewApiKeyRow> = {}): NewApiKeyRow {
  return {
    name: 'ключ 🔑 模型 — ünïcødé',
    key_hash: 'a'.repeat(64),
    key_prefix: 'sk-sy-ab',
    models: null,
    expires_at: EPOCH_MS,
    group_name: 'default',
    enabled: 1,
    created_at: EPOCH_MS,
    updated_at: EPOCH_MS + 1,
    pinned_channel_id: null,
    excluded_channel_ids: null,
    user_id: null,
    quota_nano: 9_007_199_254_740_991,
    used_nano: 0,
    ip_allowlist: null,
    rpm_limit: null,
    tpm_limit: null,
    concurrency_limit: 7,
    last_used_at: null,
    managed_by: null,
    ...overrides,
  };
}

for (const target of TARGETS) {
  describe(`node:sqlite dialect on ${target.name}`, () => {
    let path: string;
    let cleanup: () => void;
    let db: Kysely<DB>;

    beforeEach(() => {
      ({ path, cleanup } = target.prepare());
      db = new Kysely<DB>({ dialect: createNodeSqliteDialect(path) });
    });
    afterEach(async () => {
      await db.destroy();
      cleanup();
    });

    it('when migrations run, then every table exists, and a second run applies nothing', async () => {
      const first = await migrateToLatest(db);
      expect(first.results).toEqual(
        Object.keys(MIGRATIONS)
          .sort()
          .map((migrationName) => ({ migrationName, direction: 'Up', status: 'Success' })),
      );
      const second = await migrateToLatest(db);
      expect(second.results).toEqual([]);

      const tables = (await db.introspection.getTables()).map((t) => t.name);
      expect(tables).toEqual(
        expect.arrayContaining(['channels', 'accounts', 'api_keys', 'usage_logs', 'usage_daily', 'settings']),
      );
    });

    it('when a row is inserted and read back, then 0/1 flags, nulls, epoch-ms integers and unicode are unchanged', async () => {
      await migrateToLatest(db);
      const inserted = await db
        .insertInto('api_keys')
        .values([
          apiKeyRow(),
          apiKeyRow({
            name: 'plain',
            key_hash: 'b'.repeat(64),
            models: '["gpt-4o*"]',
            expires_at: null,
            enabled: 0,
            created_at: Number.MAX_SAFE_INTEGER,
          }),
        ])
        .executeTakeFirstOrThrow();
      expect(Number(inserted.insertId)).toBe(2); // the last inserted row id

      const rows = await db.selectFrom('api_keys').selectAll().orderBy('id').execute();
      expect(rows).toEqual([
        { id: 1, ...apiKeyRow() },
        {
          id: 2,
          ...apiKeyRow({
            name: 'plain',
            key_hash: 'b'.repeat(64),
            models: '["gpt-4o*"]',
            expires_at: null,
            enabled: 0,
            created_at: Number.MAX_SAFE_INTEGER,
          }),
        },
      ]);
      expect(typeof rows[0]?.created_at).toBe('number');
    });

    it('when statements return rows or only changes, then both reach kysely (RETURNING, affected-row counts)', async () => {
      await migrateToLatest(db);
      const returned = await db
        .insertInto('settings')
        .values({ name: 'theme', value: 'dark', updated_at: EPOCH_MS })
        .returning(['name', 'value'])
        .executeTakeFirstOrThrow();
      expect(returned).toEqual({ name: 'theme', value: 'dark' });

      const updated = await db
        .updateTable('settings')
        .set({ value: 'light' })
        .where('name', '=', 'theme')
        .executeTakeFirstOrThrow();
      expect(updated.numUpdatedRows).toBe(1n);

      const deleted = await db.deleteFrom('settings').where('name', '=', 'nothing').executeTakeFirstOrThrow();
      expect(deleted.numDeletedRows).toBe(0n);
    });

    it('when booleans, Dates and undefined are bound as parameters, then they arrive as 1/0, epoch ms and NULL', async () => {
      const result = await sql<{ t: number; f: number; d: number; u: null }>`
        select ${true} as t, ${false} as f, ${new Date(EPOCH_MS)} as d, ${undefined} as u
      `.execute(db);
      expect(result.rows).toEqual([{ t: 1, f: 0, d: EPOCH_MS, u: null }]);
    });

    it('when a transaction throws, then its writes are rolled back and the error reaches the caller', async () => {
      await migrateToLatest(db);
      const failure = db.transaction().execute(async (trx) => {
        await trx.insertInto('api_keys').values(apiKeyRow()).execute();
        const inside = await trx.selectFrom('api_keys').select('id').execute();
        expect(inside).toHaveLength(1);
        throw new Error('abort the transaction');
      });
      await expect(failure).rejects.toThrow('abort the transaction');

      expect(await db.selectFrom('api_keys').selectAll().execute()).toEqual([]);
      // The connection is usable after the rollback.
      await db.insertInto('api_keys').values(apiKeyRow()).execute();
      expect(await db.selectFrom('api_keys').select('id').execute()).toHaveLength(1);
    });

    it('when the database is opened, then foreign keys are enforced and writers wait 5 s for a lock', async () => {
      const fk = await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(db);
      expect(fk.rows).toEqual([{ foreign_keys: 1 }]);
      const busy = await sql<{ timeout: number }>`PRAGMA busy_timeout`.execute(db);
      expect(busy.rows).toEqual([{ timeout: 5000 }]);
    });

    if (target.name === ':memory:') {
      it('when the database is in memory, then the journal stays in memory (WAL needs a file)', async () => {
        const mode = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(db);
        expect(mode.rows).toEqual([{ journal_mode: 'memory' }]);
      });
    } else {
      it('when the database is a file, then it runs in WAL mode with synchronous NORMAL', async () => {
        const mode = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(db);
        expect(mode.rows).toEqual([{ journal_mode: 'wal' }]);
        // 1 = NORMAL (0 OFF, 2 FULL, 3 EXTRA).
        const sync = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(db);
        expect(sync.rows).toEqual([{ synchronous: 1 }]);
      });

      it('when the file is reopened, then the data is still there and migrating again applies nothing', async () => {
        await migrateToLatest(db);
        await db.insertInto('api_keys').values(apiKeyRow()).execute();
        await db.destroy();

        db = new Kysely<DB>({ dialect: createNodeSqliteDialect(path) });
        expect((await migrateToLatest(db)).results).toEqual([]);
        const rows = await db.selectFrom('api_keys').selectAll().execute();
        expect(rows).toEqual([{ id: 1, ...apiKeyRow() }]);
      });
    }
  });
}
