import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one instead.
// Portable across SQLite and MySQL: varchar lengths on indexed columns, bigint epoch-ms timestamps.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('channels')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'varchar(191)', (c) => c.notNull())
    .addColumn('provider', 'varchar(64)', (c) => c.notNull())
    .addColumn('base_url', 'varchar(2048)', (c) => c.notNull())
    .addColumn('models', 'text', (c) => c.notNull())
    .addColumn('model_mapping', 'text', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('weight', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('group_name', 'varchar(64)', (c) => c.notNull().defaultTo('default'))
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('accounts')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('channel_id', 'integer', (c) => c.notNull())
    .addColumn('name', 'varchar(191)', (c) => c.notNull())
    .addColumn('credential', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('accounts_channel_id').on('accounts').column('channel_id').execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'varchar(191)', (c) => c.notNull())
    .addColumn('key_hash', 'char(64)', (c) => c.notNull().unique())
    .addColumn('key_prefix', 'varchar(32)', (c) => c.notNull())
    .addColumn('models', 'text')
    .addColumn('expires_at', 'bigint')
    .addColumn('group_name', 'varchar(64)', (c) => c.notNull().defaultTo('default'))
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('usage_logs')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('request_id', 'varchar(128)', (c) => c.notNull().unique())
    .addColumn('client_request_id', 'varchar(128)')
    .addColumn('key_id', 'integer', (c) => c.notNull())
    .addColumn('channel_id', 'integer')
    .addColumn('account_id', 'integer')
    .addColumn('model', 'varchar(191)', (c) => c.notNull())
    .addColumn('upstream_model', 'varchar(191)')
    .addColumn('prompt_tokens', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('completion_tokens', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('total_tokens', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('http_status', 'integer', (c) => c.notNull())
    .addColumn('latency_ms', 'integer', (c) => c.notNull())
    .addColumn('stream', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'varchar(255)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('usage_logs_created_at').on('usage_logs').column('created_at').execute();
  await db.schema.createIndex('usage_logs_key_id_id').on('usage_logs').columns(['key_id', 'id']).execute();
  await db.schema.createIndex('usage_logs_model_id').on('usage_logs').columns(['model', 'id']).execute();

  await db.schema
    .createTable('settings')
    .addColumn('name', 'varchar(191)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['settings', 'usage_logs', 'api_keys', 'accounts', 'channels']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
