import { Kysely } from 'kysely';
import type { DB } from '@switchyard/core';
import { createMysqlDialect, createNodeSqliteDialect } from '@switchyard/adapters';
import { createTestDatabase } from './mysql-test-database.js';

/** One store under test: a fresh, empty database and how to throw it away. */
export interface DialectFixture {
  name: string;
  open(): Promise<{ db: Kysely<DB>; dispose: () => Promise<void> }>;
}

/** Every SQL dialect the store supports; suites loop over it (kysely's DIALECTS pattern). */
export const DIALECTS: DialectFixture[] = [
  {
    name: 'sqlite',
    async open() {
      const db = new Kysely<DB>({ dialect: createNodeSqliteDialect(':memory:') });
      return { db, dispose: () => db.destroy() };
    },
  },
  {
    name: 'mysql',
    async open() {
      const t = await createTestDatabase();
      const db = new Kysely<DB>({ dialect: createMysqlDialect(t.url) });
      return {
        db,
        async dispose() {
          await db.destroy();
          await t.drop();
        },
      };
    },
  },
];
