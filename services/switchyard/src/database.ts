import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Kysely, sql } from 'kysely';
import { migrateToLatest, type DB } from '@switchyard/core';
import { createMysqlDialect, createNodeSqliteDialect, redactDatabaseUrl } from '@switchyard/adapters';
import type { SwitchyardConfig } from './config.js';
import { ConfigError } from './config.js';

/** A short name for the configured database, safe to print (no password). */
export function describeDatabase(database: SwitchyardConfig['database']): string {
  return database.kind === 'sqlite' ? `sqlite:${database.path}` : redactDatabaseUrl(database.url);
}

/**
 * Opens the configured store (SQLite file or MySQL/MariaDB), checks that it answers and brings the
 * schema to the latest migration. kysely's Migrator holds a lock table while migrating, so several
 * processes starting at once do not race. Failures name the database and the cause. With
 * `migrate: false` (for `switchyard migrate status|down`) the schema is left as it is.
 */
export async function openDatabase(
  database: SwitchyardConfig['database'],
  opts: { migrate?: boolean } = {},
): Promise<Kysely<DB>> {
  if (database.kind === 'sqlite' && database.path !== ':memory:') {
    await mkdir(path.dirname(database.path), { recursive: true });
  }
  const db = new Kysely<DB>({
    dialect:
      database.kind === 'sqlite' ? createNodeSqliteDialect(database.path) : createMysqlDialect(database.url),
  });
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw new ConfigError(
      `SWITCHYARD_DATABASE_URL: cannot reach ${describeDatabase(database)}: ${(err as Error).message}`,
    );
  }
  if (opts.migrate === false) return db;
  try {
    await migrateToLatest(db);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw err;
  }
  return db;
}

/** For /readyz: 'up' when the database answers a trivial query, else 'down'. */
export async function databaseState(db: Kysely<DB>): Promise<'up' | 'down'> {
  try {
    await sql`select 1`.execute(db);
    return 'up';
  } catch {
    return 'down';
  }
}
