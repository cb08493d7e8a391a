import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one instead.
// Routing and failover (issue 5): multi-group channels, account strategies, per-channel timeouts and
// breaker settings; account kinds (API key / OAuth), automatic disabling with a reason, proxies,
// OAuth refresh leases; per-key channel overrides; global model aliases; pending OAuth flows.
// New columns are nullable (NULL = "the documented default") so old rows need no rewrite and MySQL's
// rule against literal TEXT defaults never applies.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('channels').addColumn('groups', 'text').execute();
  await db.schema.alterTable('channels').addColumn('account_strategy', 'varchar(16)').execute();
  await db.schema.alterTable('channels').addColumn('sticky_sessions', 'integer').execute();
  await db.schema.alterTable('channels').addColumn('connect_timeout_ms', 'integer').execute();
  await db.schema.alterTable('channels').addColumn('first_byte_timeout_ms', 'integer').execute();
  await db.schema.alterTable('channels').addColumn('idle_timeout_ms', 'integer').execute();
  await db.schema.alterTable('channels').addColumn('breaker', 'text').execute();

  await db.schema
    .alterTable('accounts')
    .addColumn('kind', 'varchar(16)', (c) => c.notNull().defaultTo('api_key'))
    .execute();
  await db.schema.alterTable('accounts').addColumn('oauth_profile', 'varchar(64)').execute();
  await db.schema.alterTable('accounts').addColumn('oauth_config', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('token_expires_at', 'bigint').execute();
  await db.schema.alterTable('accounts').addColumn('disabled_reason', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('disabled_at', 'bigint').execute();
  await db.schema.alterTable('accounts').addColumn('disabled_by', 'varchar(16)').execute();
  await db.schema.alterTable('accounts').addColumn('proxy_id', 'integer').execute();
  await db.schema.alterTable('accounts').addColumn('refresh_lease_until', 'bigint').execute();
  await db.schema.alterTable('accounts').addColumn('refresh_lease_owner', 'varchar(64)').execute();
  await db.schema.alterTable('accounts').addColumn('updated_at', 'bigint').execute();

  await db.schema.alterTable('api_keys').addColumn('pinned_channel_id', 'integer').execute();
  await db.schema.alterTable('api_keys').addColumn('excluded_channel_ids', 'text').execute();

  await db.schema
    .createTable('proxies')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'varchar(191)', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('display_url', 'varchar(2048)', (c) => c.notNull())
    .addColumn('max_accounts', 'integer')
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('oauth_states')
    .addColumn('state', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('profile', 'varchar(64)', (c) => c.notNull())
    .addColumn('channel_id', 'integer', (c) => c.notNull())
    .addColumn('account_name', 'varchar(191)', (c) => c.notNull())
    .addColumn('code_verifier', 'text', (c) => c.notNull())
    .addColumn('redirect_uri', 'varchar(2048)', (c) => c.notNull())
    .addColumn('oauth_config', 'text', (c) => c.notNull())
    .addColumn('proxy_id', 'integer')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('model_aliases')
    .addColumn('alias', 'varchar(191)', (c) => c.primaryKey())
    .addColumn('model', 'varchar(191)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('model_aliases').execute();
  await db.schema.dropTable('oauth_states').execute();
  await db.schema.dropTable('proxies').execute();
  for (const col of ['pinned_channel_id', 'excluded_channel_ids']) {
    await db.schema.alterTable('api_keys').dropColumn(col).execute();
  }
  for (const col of [
    'kind',
    'oauth_profile',
    'oauth_config',
    'token_expires_at',
    'disabled_reason',
    'disabled_at',
    'disabled_by',
    'proxy_id',
    'refresh_lease_until',
    'refresh_lease_owner',
    'updated_at',
  ]) {
    await db.schema.alterTable('accounts').dropColumn(col).execute();
  }
  for (const col of [
    'groups',
    'account_strategy',
    'sticky_sessions',
    'connect_timeout_ms',
    'first_byte_timeout_ms',
    'idle_timeout_ms',
    'breaker',
  ]) {
    await db.schema.alterTable('channels').dropColumn(col).execute();
  }
}
