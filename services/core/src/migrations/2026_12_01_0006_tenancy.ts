import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one instead.
// Tenancy and money (issue 6): users who own keys and balances, key groups with a price ratio, a
// price table, per-key and per-user quotas and rate limits, and the cost of every usage row.
// Money columns are integer nano-USD (bigint). New columns are nullable or default to 0 so old rows
// need no rewrite.

/** USD per million tokens, as the providers list them (late 2025), for the seeded price table. */
interface SeedPrice {
  model: string;
  input: number;
  output: number;
  cached?: number;
  reasoning?: number;
}

const SEED_PRICES: readonly SeedPrice[] = [
  { model: 'gpt-5', input: 1.25, cached: 0.125, output: 10 },
  { model: 'gpt-5-mini', input: 0.25, cached: 0.025, output: 2 },
  { model: 'gpt-5-nano', input: 0.05, cached: 0.005, output: 0.4 },
  { model: 'gpt-4.1', input: 2, cached: 0.5, output: 8 },
  { model: 'gpt-4.1-mini', input: 0.4, cached: 0.1, output: 1.6 },
  { model: 'gpt-4.1-nano', input: 0.1, cached: 0.025, output: 0.4 },
  { model: 'gpt-4o', input: 2.5, cached: 1.25, output: 10 },
  { model: 'gpt-4o-mini', input: 0.15, cached: 0.075, output: 0.6 },
  { model: 'gpt-4-turbo', input: 10, output: 30 },
  { model: 'gpt-3.5-turbo', input: 0.5, output: 1.5 },
  { model: 'o1', input: 15, cached: 7.5, output: 60 },
  { model: 'o3', input: 2, cached: 0.5, output: 8 },
  { model: 'o3-mini', input: 1.1, cached: 0.55, output: 4.4 },
  { model: 'o4-mini', input: 1.1, cached: 0.275, output: 4.4 },
  { model: 'text-embedding-3-small', input: 0.02, output: 0 },
  { model: 'text-embedding-3-large', input: 0.13, output: 0 },
  { model: 'text-embedding-ada-002', input: 0.1, output: 0 },
  { model: 'claude-opus-4-5*', input: 5, cached: 0.5, output: 25 },
  { model: 'claude-opus-4*', input: 15, cached: 1.5, output: 75 },
  { model: 'claude-sonnet-4*', input: 3, cached: 0.3, output: 15 },
  { model: 'claude-haiku-4-5*', input: 1, cached: 0.1, output: 5 },
  { model: 'claude-3-7-sonnet*', input: 3, cached: 0.3, output: 15 },
  { model: 'claude-3-5-sonnet*', input: 3, cached: 0.3, output: 15 },
  { model: 'claude-3-5-haiku*', input: 0.8, cached: 0.08, output: 4 },
  { model: 'claude-3-haiku*', input: 0.25, cached: 0.03, output: 1.25 },
  { model: 'gemini-2.5-pro*', input: 1.25, cached: 0.31, output: 10 },
  { model: 'gemini-2.5-flash-lite*', input: 0.1, cached: 0.025, output: 0.4 },
  { model: 'gemini-2.5-flash*', input: 0.3, cached: 0.075, output: 2.5 },
  { model: 'gemini-2.0-flash*', input: 0.1, cached: 0.025, output: 0.4 },
  { model: 'deepseek-chat', input: 0.27, cached: 0.07, output: 1.1 },
  { model: 'deepseek-reasoner', input: 0.55, cached: 0.14, output: 2.19 },
  { model: 'glm-4.6', input: 0.6, cached: 0.11, output: 2.2 },
  { model: 'mistral-large-latest', input: 2, output: 6 },
  { model: 'grok-4*', input: 3, cached: 0.75, output: 15 },
];

/** USD per million → nano-USD per million, exactly (seed prices have at most 4 decimals). */
function nanos(usd: number): number {
  return Math.round(usd * 10_000) * 100_000;
}

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'varchar(191)', (c) => c.notNull())
    .addColumn('email', 'varchar(191)')
    .addColumn('group_name', 'varchar(64)', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('quota_nano', 'bigint')
    .addColumn('used_nano', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('rpm_limit', 'integer')
    .addColumn('tpm_limit', 'integer')
    .addColumn('concurrency_limit', 'integer')
    .addColumn('last_used_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('users_name').on('users').column('name').unique().execute();

  // `groups` is a reserved word in MySQL 8, hence `user_groups`.
  await db.schema
    .createTable('user_groups')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('description', 'varchar(512)')
    .addColumn('price_ratio_ppm', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('model_prices')
    .addColumn('model', 'varchar(191)', (c) => c.primaryKey())
    .addColumn('input_nano', 'bigint', (c) => c.notNull())
    .addColumn('output_nano', 'bigint', (c) => c.notNull())
    .addColumn('cached_input_nano', 'bigint')
    .addColumn('reasoning_nano', 'bigint')
    .addColumn('per_request_nano', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('per_image_nano', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema.alterTable('api_keys').addColumn('user_id', 'integer').execute();
  await db.schema.alterTable('api_keys').addColumn('quota_nano', 'bigint').execute();
  await db.schema
    .alterTable('api_keys')
    .addColumn('used_nano', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('api_keys').addColumn('ip_allowlist', 'text').execute();
  await db.schema.alterTable('api_keys').addColumn('rpm_limit', 'integer').execute();
  await db.schema.alterTable('api_keys').addColumn('tpm_limit', 'integer').execute();
  await db.schema.alterTable('api_keys').addColumn('concurrency_limit', 'integer').execute();
  await db.schema.alterTable('api_keys').addColumn('last_used_at', 'bigint').execute();
  await db.schema.createIndex('api_keys_user_id').on('api_keys').column('user_id').execute();

  await db.schema.alterTable('usage_logs').addColumn('user_id', 'integer').execute();
  await db.schema
    .alterTable('usage_logs')
    .addColumn('cost_nano', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('usage_logs')
    .addColumn('partial', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('usage_logs_user_id_id').on('usage_logs').columns(['user_id', 'id']).execute();
  await db.schema
    .createIndex('usage_logs_channel_id_id')
    .on('usage_logs')
    .columns(['channel_id', 'id'])
    .execute();
  await db.schema
    .alterTable('usage_daily')
    .addColumn('cost_nano', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();

  const now = Date.now();
  await db
    .insertInto('user_groups')
    .values({
      name: 'default',
      description: 'Keys and users without another group',
      price_ratio_ppm: 1_000_000,
      created_at: now,
      updated_at: now,
    })
    .execute();
  await db
    .insertInto('model_prices')
    .values(
      SEED_PRICES.map((p) => ({
        model: p.model,
        input_nano: nanos(p.input),
        output_nano: nanos(p.output),
        cached_input_nano: p.cached === undefined ? null : nanos(p.cached),
        reasoning_nano: p.reasoning === undefined ? null : nanos(p.reasoning),
        per_request_nano: 0,
        per_image_nano: 0,
        created_at: now,
        updated_at: now,
      })),
    )
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('usage_daily').dropColumn('cost_nano').execute();
  await db.schema.dropIndex('usage_logs_channel_id_id').on('usage_logs').execute();
  await db.schema.dropIndex('usage_logs_user_id_id').on('usage_logs').execute();
  for (const col of ['user_id', 'cost_nano', 'partial']) {
    await db.schema.alterTable('usage_logs').dropColumn(col).execute();
  }
  await db.schema.dropIndex('api_keys_user_id').on('api_keys').execute();
  for (const col of [
    'user_id',
    'quota_nano',
    'used_nano',
    'ip_allowlist',
    'rpm_limit',
    'tpm_limit',
    'concurrency_limit',
    'last_used_at',
  ]) {
    await db.schema.alterTable('api_keys').dropColumn(col).execute();
  }
  await db.schema.dropTable('model_prices').execute();
  await db.schema.dropTable('user_groups').execute();
  await db.schema.dropTable('users').execute();
}
