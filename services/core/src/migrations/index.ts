import {
  Migrator,
  type Kysely,
  type Migration,
  type MigrationProvider,
  type MigrationResultSet,
} from 'kysely';
import * as m0001 from './2026_11_23_0001_init.js';
import * as m0002 from './2026_11_23_0002_usage_daily.js';
import * as m0003 from './2026_11_24_0003_channel_options.js';
import * as m0004 from './2026_12_01_0004_usage_cache_reasoning.js';
import * as m0005 from './2026_12_01_0005_routing_failover.js';
import * as m0006 from './2026_12_01_0006_tenancy.js';
import * as m0007 from './2026_12_01_0007_declarative.js';
import * as m0008 from './2026_12_01_0008_config_revision.js';

/** Every migration, by its frozen name. Order is by name. */
export const MIGRATIONS: Record<string, Migration> = {
  '2026_11_23_0001_init': m0001,
  '2026_11_23_0002_usage_daily': m0002,
  '2026_11_24_0003_channel_options': m0003,
  '2026_12_01_0004_usage_cache_reasoning': m0004,
  '2026_12_01_0005_routing_failover': m0005,
  '2026_12_01_0006_tenancy': m0006,
  '2026_12_01_0007_declarative': m0007,
  '2026_12_01_0008_config_revision': m0008,
};

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

/** Brings the schema to the latest version; throws with the failing migration's error. */
export async function migrateToLatest<T>(db: Kysely<T>): Promise<MigrationResultSet> {
  // Checked first so a rolled-back build names the problem instead of kysely's "corrupted migrations".
  const { unknown } = await schemaStatus(db);
  if (unknown.length > 0) throw new SchemaNewerError(unknown);
  const migrator = new Migrator({ db, provider: new StaticMigrationProvider() });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${String(result.error)}`, { cause: result.error });
  }
  return result;
}

/** The table kysely's Migrator records executed migrations in (its default name). */
const MIGRATION_TABLE = 'kysely_migration';

/** Where a database's schema stands against the migrations this build knows. */
export interface SchemaStatus {
  /** Known migrations already applied, in order, with when. */
  applied: Array<{ name: string; appliedAt: Date }>;
  /** Known migrations not applied yet, in order. */
  pending: string[];
  /** Migrations the database has applied that this build does not know: it was upgraded by a newer build. */
  unknown: string[];
}

/** Thrown instead of migrating when the database was migrated by a newer build than this one. */
export class SchemaNewerError extends Error {
  constructor(readonly unknown: string[]) {
    const known = Object.keys(MIGRATIONS).sort();
    super(
      `the database schema is newer than this build: it has migration(s) ${unknown.join(', ')} that this ` +
        `build does not know (its newest is ${known[known.length - 1] ?? 'none'}). Run the newer build, or roll ` +
        `the schema back first with the newer build: switchyard migrate down --to ${known[known.length - 1] ?? '<name>'} --yes`,
    );
    this.name = 'SchemaNewerError';
  }
}

/** Reads the schema's state without changing anything (no lock, no migration). */
export async function schemaStatus<T>(db: Kysely<T>): Promise<SchemaStatus> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  const executed = tables.some((t) => t.name === MIGRATION_TABLE)
    ? await (db as unknown as Kysely<Record<typeof MIGRATION_TABLE, { name: string; timestamp: string }>>)
        .selectFrom(MIGRATION_TABLE)
        .select(['name', 'timestamp'])
        .execute()
    : [];
  const known = Object.keys(MIGRATIONS).sort();
  const byName = new Map(executed.map((e) => [e.name, e.timestamp]));
  return {
    applied: known
      .filter((n) => byName.has(n))
      .map((name) => ({ name, appliedAt: new Date(byName.get(name) ?? 0) })),
    pending: known.filter((n) => !byName.has(n)),
    unknown: executed
      .map((e) => e.name)
      .filter((n) => !(n in MIGRATIONS))
      .sort(),
  };
}

/**
 * Reverts, newest first, every applied migration after `target` (a known migration name), under the
 * same lock as migrating up. Returns the names reverted. Destructive: a reverted migration drops the
 * columns and tables it added, with their data.
 */
export async function migrateDownTo<T>(db: Kysely<T>, target: string): Promise<string[]> {
  if (!(target in MIGRATIONS)) {
    throw new Error(`unknown migration ${target}; known: ${Object.keys(MIGRATIONS).sort().join(', ')}`);
  }
  const migrator = new Migrator({ db, provider: new StaticMigrationProvider() });
  const result = await migrator.migrateTo(target);
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`reverting migration ${failed} failed: ${String(result.error)}`, { cause: result.error });
  }
  return (result.results ?? []).filter((r) => r.direction === 'Down').map((r) => r.migrationName);
}
