import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '@switchyard/core';
import { createTestDatabase } from '../../adapters/test/mysql-test-database.js';

/**
 * `switchyard migrate`, `migrate status` and `migrate down` on the real executable, as an operator
 * upgrading or rolling back runs them: on SQLite and on MariaDB, every down migration included.
 */

const BIN = fileURLToPath(new URL('../bin/switchyard', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const NAMES = Object.keys(MIGRATIONS).sort();
const NEWEST = NAMES[NAMES.length - 1]!;
const PREVIOUS = NAMES[NAMES.length - 2]!;
const FIRST = NAMES[0]!;
const FUTURE = '2099_01_01_0099_from_a_newer_build';

function run(args: string[], databaseUrl: string): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SWITCHYARD_DATABASE_URL: databaseUrl,
    SWITCHYARD_LOG_LEVEL: 'warn',
  };
  delete env.SWITCHYARD_ADMIN_TOKEN;
  const r = spawnSync(BIN, args, { env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The names `migrate status` lists with a given state. */
function listed(stdout: string, state: 'applied' | 'pending' | 'unknown'): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(`${state} `))
    .map((l) =>
      l
        .trim()
        .split(/\s+/)
        .at(state === 'applied' ? 2 : 1)!,
    );
}

let dir: string;
beforeAll(async () => {
  if (!existsSync(DIST))
    throw new Error('services/switchyard/dist is missing: run `npm test` (it builds first)');
  dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-migrate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('switchyard migrate on SQLite', () => {
  it('when an empty database is migrated, then status goes from all pending (exit 1) to all applied (exit 0)', () => {
    const url = `sqlite:${path.join(dir, 'fresh.db')}`;
    const before = run(['migrate', 'status'], url);
    expect(before.status).toBe(1);
    expect(listed(before.stdout, 'pending')).toEqual(NAMES);
    expect(before.stdout).toContain(`${NAMES.length} pending; run "switchyard migrate"`);

    const up = run(['migrate'], url);
    expect(up.status, up.stderr).toBe(0);
    expect(up.stdout).toContain(`applied ${NAMES.join(', ')}`);

    const after = run(['migrate', 'status'], url);
    expect(after.status).toBe(0);
    expect(listed(after.stdout, 'applied')).toEqual(NAMES);
    expect(listed(after.stdout, 'pending')).toEqual([]);
    expect(after.stdout).toContain('is up to date');
  });

  it('when a rollback is asked without --yes, then it only lists what it would revert and changes nothing', () => {
    const url = `sqlite:${path.join(dir, 'dry.db')}`;
    expect(run(['migrate'], url).status).toBe(0);
    const dry = run(['migrate', 'down', '--to', PREVIOUS], url);
    expect(dry.status).toBe(2);
    expect(dry.stdout).toContain(`would revert, newest first: ${NEWEST}`);
    expect(dry.stdout).toContain('--yes');
    expect(run(['migrate', 'status'], url).status).toBe(0);
  });

  it('when the schema is rolled back one step and migrated again, then the newest migration is pending in between', () => {
    const url = `sqlite:${path.join(dir, 'down.db')}`;
    expect(run(['migrate'], url).status).toBe(0);
    const down = run(['migrate', 'down', '--to', PREVIOUS, '--yes'], url);
    expect(down.status, down.stderr).toBe(0);
    expect(down.stdout).toContain(`reverted ${NEWEST}; schema of sqlite:`);
    const status = run(['migrate', 'status'], url);
    expect(status.status).toBe(1);
    expect(listed(status.stdout, 'pending')).toEqual([NEWEST]);
    expect(run(['migrate'], url).stdout).toContain(`applied ${NEWEST}`);
    expect(run(['migrate', 'status'], url).status).toBe(0);
  });

  it('when the database was migrated by a newer build, then status, migrate and serve refuse it by name, without a stack trace', () => {
    const file = path.join(dir, 'newer.db');
    const url = `sqlite:${file}`;
    expect(run(['migrate'], url).status).toBe(0);
    const db = new DatabaseSync(file);
    db.prepare('insert into kysely_migration (name, timestamp) values (?, ?)').run(
      FUTURE,
      new Date().toISOString(),
    );
    db.close();

    const status = run(['migrate', 'status'], url);
    expect(status.status).toBe(1);
    expect(listed(status.stdout, 'unknown')).toEqual([FUTURE]);
    expect(status.stdout).toContain('is newer than this build');

    for (const args of [['migrate'], ['serve', '--port', '0', '--host', '127.0.0.1']]) {
      const r = run(args, url);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(
        `the database schema is newer than this build: it has migration(s) ${FUTURE}`,
      );
      expect(r.stderr).toContain(`switchyard migrate down --to ${NEWEST} --yes`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('when the rollback target is not an applied migration, then it is a usage error naming the applied ones', () => {
    const url = `sqlite:${path.join(dir, 'bad-target.db')}`;
    expect(run(['migrate'], url).status).toBe(0);
    const r = run(['migrate', 'down', '--to', 'nope', '--yes'], url);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`migrate down --to nope: not an applied migration`);
    expect(r.stderr).toContain(NEWEST);
    expect(run(['migrate', 'down'], url).status).toBe(2);
    expect(run(['migrate', 'sideways'], url).status).toBe(2);
  });
});

describe('switchyard migrate on MariaDB', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('when the schema is rolled back to the first migration and migrated up again, then every down and up migration runs on MySQL', async () => {
    expect(run(['migrate'], database.url).status).toBe(0);
    const down = run(['migrate', 'down', '--to', FIRST, '--yes'], database.url);
    expect(down.status, down.stderr).toBe(0);
    expect(down.stdout).toContain(`reverted ${NAMES.slice(1).reverse().join(', ')}`);
    const status = run(['migrate', 'status'], database.url);
    expect(listed(status.stdout, 'applied')).toEqual([FIRST]);
    expect(listed(status.stdout, 'pending')).toEqual(NAMES.slice(1));

    // The tables the later migrations added are gone, and come back.
    const c = await createConnection(database.url);
    try {
      const tables = async (): Promise<string[]> =>
        ((await c.query('show tables'))[0] as Array<Record<string, string>>).map((r) => Object.values(r)[0]!);
      expect(await tables()).not.toContain('users');
      const up = run(['migrate'], database.url);
      expect(up.status, up.stderr).toBe(0);
      expect(await tables()).toContain('users');
    } finally {
      await c.end();
    }
    expect(run(['migrate', 'status'], database.url).status).toBe(0);
  });
});
