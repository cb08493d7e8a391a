import type { Kysely } from 'kysely';
import type { DB, ModelAliasRow } from '@switchyard/core';

/** A client-facing model name routed as another model. */
export interface StoredModelAlias {
  alias: string;
  model: string;
  createdAt: number;
  updatedAt: number;
}

/** SQL for global model aliases (`model_aliases`). */
export class ModelAliasRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Every alias, ordered by alias. */
  async list(): Promise<StoredModelAlias[]> {
    const rows = await this.#db.selectFrom('model_aliases').selectAll().orderBy('alias').execute();
    return rows.map(toAlias);
  }

  async get(alias: string): Promise<StoredModelAlias | undefined> {
    const row = await this.#db
      .selectFrom('model_aliases')
      .selectAll()
      .where('alias', '=', alias)
      .executeTakeFirst();
    return row === undefined ? undefined : toAlias(row);
  }

  /**
   * Creates or replaces `alias`. Portable upsert: update an existing row, else insert; an insert that
   * loses a race to a concurrent PUT of the same alias falls back to the update.
   */
  async put(
    alias: string,
    model: string,
    now: number,
  ): Promise<{ alias: StoredModelAlias; created: boolean }> {
    if (await this.#replace(alias, model, now)) return { alias: await this.#require(alias), created: false };
    try {
      await this.#db
        .insertInto('model_aliases')
        .values({ alias, model, created_at: now, updated_at: now })
        .execute();
    } catch (err) {
      if (!(await this.#replace(alias, model, now))) throw err;
      return { alias: await this.#require(alias), created: false };
    }
    return { alias: await this.#require(alias), created: true };
  }

  /** Resolves false when the alias did not exist. */
  async delete(alias: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('model_aliases').where('alias', '=', alias).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Updates the alias when it exists (checked by reading: MySQL may count only changed rows). */
  async #replace(alias: string, model: string, now: number): Promise<boolean> {
    if ((await this.get(alias)) === undefined) return false;
    await this.#db
      .updateTable('model_aliases')
      .set({ model, updated_at: now })
      .where('alias', '=', alias)
      .execute();
    return true;
  }

  async #require(alias: string): Promise<StoredModelAlias> {
    const found = await this.get(alias);
    if (found === undefined) throw new Error(`model alias '${alias}' vanished after being written`);
    return found;
  }
}

function toAlias(row: ModelAliasRow): StoredModelAlias {
  return {
    alias: row.alias,
    model: row.model,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
