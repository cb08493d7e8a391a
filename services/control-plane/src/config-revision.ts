import type { Kysely } from 'kysely';
import type { DB } from '@switchyard/core';

/**
 * The shared config snapshot version (table `config_revision`, one row), so control planes serving
 * one database number the same configuration alike and relays' versions can be compared across
 * replicas.
 */
export class ConfigRevision {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  async current(): Promise<number> {
    const row = await this.#db
      .selectFrom('config_revision')
      .select('version')
      .where('id', '=', 1)
      .executeTakeFirst();
    return Number(row?.version ?? 0);
  }

  /** Takes the next number. The row lock (MySQL) or the single writer (SQLite) makes it unique. */
  async next(): Promise<number> {
    return this.#db.transaction().execute(async (trx) => {
      await trx
        .updateTable('config_revision')
        .set((eb) => ({ version: eb('version', '+', 1) }))
        .where('id', '=', 1)
        .execute();
      const row = await trx
        .selectFrom('config_revision')
        .select('version')
        .where('id', '=', 1)
        .executeTakeFirstOrThrow();
      return Number(row.version);
    });
  }
}
