import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one instead.
// Declarative configuration (switchyard.yaml, `switchyard apply -f`): which entries the file manages.
// `declared_entries` maps each declared identity (a group's name, a price's model, a channel's name,
// [channel, account] names, a user's or key's name) to the row it manages; its primary key is what
// keeps two control planes applying the same file at once from both creating an entry. The
// `managed_by` columns ('file' or NULL) only tell admin views which rows the file owns.

/** The tables whose rows a configuration file can manage. */
const MANAGED_TABLES = ['user_groups', 'model_prices', 'channels', 'accounts', 'users', 'api_keys'];

export async function up(db: Kysely<any>): Promise<void> {
  // Why 512: an account's identity is the JSON array of two varchar(191) names; 16 + 512 characters
  // of utf8mb4 stay under InnoDB's 3072-byte key limit.
  await db.schema
    .createTable('declared_entries')
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('name', 'varchar(512)', (c) => c.notNull())
    .addColumn('entry_id', 'varchar(191)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('declared_entries_pk', ['kind', 'name'])
    .execute();
  for (const table of MANAGED_TABLES) {
    await db.schema.alterTable(table).addColumn('managed_by', 'varchar(16)').execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of MANAGED_TABLES) {
    await db.schema.alterTable(table).dropColumn('managed_by').execute();
  }
  await db.schema.dropTable('declared_entries').execute();
}
