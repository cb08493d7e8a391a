import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';

/**
 * The MariaDB/MySQL server tests use: the machine's MariaDB unless SWITCHYARD_TEST_MYSQL_URL names
 * another. scripts/vitest-global-setup.ts makes sure it answers before any test runs.
 */
export const TEST_MYSQL_URL = process.env.SWITCHYARD_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

/** A fresh, uniquely named database for one test file; `drop()` removes it. */
export async function createTestDatabase(): Promise<{
  url: string;
  name: string;
  drop: () => Promise<void>;
}> {
  const name = `switchyard_test_${randomBytes(6).toString('hex')}`;
  const admin = await createConnection(TEST_MYSQL_URL);
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_MYSQL_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = await createConnection(TEST_MYSQL_URL);
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await c.end();
      }
    },
  };
}
