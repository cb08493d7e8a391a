import { parseArgs } from 'node:util';
import { migrateDownTo, migrateToLatest, schemaStatus } from '@switchyard/core';
import { ConfigError, loadConfig } from './config.js';
import { describeDatabase, openDatabase } from './database.js';

export const MIGRATE_HELP = `migrate commands (the database from SWITCHYARD_DATABASE_URL / --database-url, or the data dir's SQLite):
  migrate                         Apply every pending migration and exit
  migrate status                  List applied, pending and unknown (newer build) migrations; exit 0 when up to date, 1 otherwise
  migrate down --to <name> --yes  Revert every migration after <name>, newest first (drops the columns and tables
                                  they added, with their data); without --yes it only lists what it would revert
`;

interface MigrateIo {
  stdout(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * `switchyard migrate [status | down --to NAME --yes]`. Returns the exit code; a bad argument is a
 * ConfigError (exit 2 in the caller). Only `migrate` and `down` change the schema, each under
 * kysely's migration lock, so it is safe while other processes start.
 */
export async function runMigrateCli(args: string[], io: MigrateIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      'database-url': { type: 'string' },
      'data-dir': { type: 'string' },
      to: { type: 'string' },
      yes: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const [sub = 'up', ...extra] = positionals;
  if (extra.length > 0 || !['up', 'status', 'down'].includes(sub)) {
    throw new ConfigError(`migrate ${positionals.join(' ')}: expected "status" or "down --to <name>"`);
  }
  if (sub !== 'down' && (values.to !== undefined || values.yes)) {
    throw new ConfigError('--to and --yes belong to "migrate down"');
  }
  if (sub === 'down' && values.to === undefined)
    throw new ConfigError('migrate down: --to <name> is required');
  const env = { ...io.env };
  if (values['database-url'] !== undefined) env.SWITCHYARD_DATABASE_URL = values['database-url'];
  if (values['data-dir'] !== undefined) env.SWITCHYARD_DATA_DIR = values['data-dir'];
  const { database } = loadConfig(env);
  const where = describeDatabase(database);
  const db = await openDatabase(database, { migrate: false });
  try {
    if (sub === 'up') {
      const result = await migrateToLatest(db);
      const applied = (result.results ?? [])
        .filter((r) => r.status === 'Success')
        .map((r) => r.migrationName);
      if (applied.length > 0) io.stdout(`applied ${applied.join(', ')}\n`);
      io.stdout(`schema of ${where} is up to date\n`);
      return 0;
    }
    const status = await schemaStatus(db);
    if (sub === 'status') {
      for (const a of status.applied) io.stdout(`applied  ${a.appliedAt.toISOString()}  ${a.name}\n`);
      for (const p of status.pending) io.stdout(`pending  ${p}\n`);
      for (const u of status.unknown) io.stdout(`unknown  ${u}  (applied by a newer build)\n`);
      if (status.unknown.length > 0) {
        io.stdout(`schema of ${where} is newer than this build\n`);
        return 1;
      }
      if (status.pending.length > 0) {
        io.stdout(`schema of ${where}: ${status.pending.length} pending; run "switchyard migrate"\n`);
        return 1;
      }
      io.stdout(`schema of ${where} is up to date\n`);
      return 0;
    }
    const target = values.to ?? '';
    const applied = status.applied.map((a) => a.name);
    if (!applied.includes(target)) {
      throw new ConfigError(
        `migrate down --to ${target}: not an applied migration of ${where}; applied: ${applied.join(', ') || 'none'}`,
      );
    }
    const wouldRevert = applied.filter((n) => n > target).reverse();
    if (!values.yes) {
      io.stdout(
        wouldRevert.length === 0
          ? `nothing to revert: ${target} is the newest applied migration\n`
          : `would revert, newest first: ${wouldRevert.join(', ')}\nthis drops what they added, with its data; pass --yes to do it\n`,
      );
      return wouldRevert.length === 0 ? 0 : 2;
    }
    const reverted = await migrateDownTo(db, target);
    io.stdout(
      reverted.length === 0
        ? `nothing to revert\n`
        : `reverted ${reverted.join(', ')}; schema of ${where} is at ${target}\n`,
    );
    return 0;
  } finally {
    await db.destroy();
  }
}
