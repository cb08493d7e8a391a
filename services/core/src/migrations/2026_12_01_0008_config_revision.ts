import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one instead.
// One shared number for config snapshots. Several control planes serve one database; each used to
// count its own snapshot versions, so relays watching different replicas showed unrelated numbers
// for the same configuration. Every publish now takes its version from this one row.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('config_revision')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .execute();
  await db.insertInto('config_revision').values({ id: 1, version: 0 }).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('config_revision').execute();
}
