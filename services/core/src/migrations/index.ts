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

/** Every migration, by its frozen name. Order is by name. */
export const MIGRATIONS: Record<string, Migration> = {
  '2026_11_23_0001_init': m0001,
  '2026_11_23_0002_usage_daily': m0002,
  '2026_11_24_0003_channel_options': m0003,
  '2026_12_01_0004_usage_cache_reasoning': m0004,
  '2026_12_01_0005_routing_failover': m0005,
  '2026_12_01_0006_tenancy': m0006,
};

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

/** Brings the schema to the latest version; throws with the failing migration's error. */
export async function migrateToLatest<T>(db: Kysely<T>): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: new StaticMigrationProvider() });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${String(result.error)}`, { cause: result.error });
  }
  return result;
}
