import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one instead.
// Provider-specific channel settings as a JSON object of strings. Nullable because MySQL cannot give a
// TEXT column a literal default: rows written before this migration hold NULL, read as `{}`.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('channels').addColumn('options', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('channels').dropColumn('options').execute();
}
