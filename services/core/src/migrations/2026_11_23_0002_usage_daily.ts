import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one instead.
// Daily usage aggregates, kept by accounting in the same transaction as the usage rows.
// `channel_id` is 0 for requests that never reached a channel (a primary key column cannot be NULL).

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('usage_daily')
    .addColumn('day', 'varchar(10)', (c) => c.notNull())
    .addColumn('key_id', 'integer', (c) => c.notNull())
    .addColumn('model', 'varchar(191)', (c) => c.notNull())
    .addColumn('channel_id', 'integer', (c) => c.notNull())
    .addColumn('requests', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('errors', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('prompt_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('completion_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('total_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('latency_ms_sum', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('usage_daily_pk', ['day', 'key_id', 'model', 'channel_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('usage_daily').ifExists().execute();
}
