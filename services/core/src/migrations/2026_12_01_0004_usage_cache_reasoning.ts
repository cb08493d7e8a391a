import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one instead.
// Cached prompt tokens and reasoning tokens, per request and summed per day. Integer columns with a
// literal default work on SQLite and MySQL alike; rows written before this migration read as 0.
// The daily sums are bigint like the other usage_daily sums. One column per statement: SQLite's
// ALTER TABLE adds a single column at a time.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('usage_logs')
    .addColumn('cached_tokens', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('usage_logs')
    .addColumn('reasoning_tokens', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('usage_daily')
    .addColumn('cached_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('usage_daily')
    .addColumn('reasoning_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('usage_daily').dropColumn('reasoning_tokens').execute();
  await db.schema.alterTable('usage_daily').dropColumn('cached_tokens').execute();
  await db.schema.alterTable('usage_logs').dropColumn('reasoning_tokens').execute();
  await db.schema.alterTable('usage_logs').dropColumn('cached_tokens').execute();
}
