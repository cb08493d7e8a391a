import type { Kysely } from 'kysely';
import type { DB, ModelPrice, ModelPriceRow } from '@switchyard/core';
import { toManagedBy, type ManagedBy } from './managed-by.js';
import { containsText } from './page-query.js';

/** A model's price as stored (nano-USD), with its timestamps. */
export interface StoredPrice extends ModelPrice {
  /** 'file' when a configuration file manages it. */
  managedBy: ManagedBy;
  createdAt: number;
  updatedAt: number;
}

/** SQL for the price table (`model_prices`), keyed by exact model name or `*` glob. */
export class PriceRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Every price (or those whose model contains `q`, case-insensitive), ordered by model. */
  async list(q?: string): Promise<StoredPrice[]> {
    let query = this.#db.selectFrom('model_prices').selectAll();
    if (q !== undefined) query = query.where(containsText('model', q));
    const rows = await query.orderBy('model').execute();
    return rows.map(toPrice);
  }

  /** Every price as the relay's snapshot and core's findPrice take them, ordered by model. */
  async prices(): Promise<ModelPrice[]> {
    return (await this.list()).map(toModelPrice);
  }

  async get(model: string): Promise<StoredPrice | undefined> {
    const row = await this.#db
      .selectFrom('model_prices')
      .selectAll()
      .where('model', '=', model)
      .executeTakeFirst();
    return row === undefined ? undefined : toPrice(row);
  }

  /**
   * Creates or replaces the price of `price.model`. Portable upsert: update an existing row, else
   * insert; an insert that loses a race to a concurrent PUT of the same model falls back to the update.
   */
  async put(price: ModelPrice, now: number): Promise<{ price: StoredPrice; created: boolean }> {
    if (await this.#replace(price, now)) return { price: await this.#require(price.model), created: false };
    try {
      await this.#db
        .insertInto('model_prices')
        .values({ model: price.model, ...columns(price), created_at: now, updated_at: now })
        .execute();
    } catch (err) {
      if (!(await this.#replace(price, now))) throw err;
      return { price: await this.#require(price.model), created: false };
    }
    return { price: await this.#require(price.model), created: true };
  }

  /** Resolves false when the model had no price. */
  async delete(model: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('model_prices').where('model', '=', model).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Updates the price when it exists (checked by reading: MySQL may count only changed rows). */
  async #replace(price: ModelPrice, now: number): Promise<boolean> {
    if ((await this.get(price.model)) === undefined) return false;
    await this.#db
      .updateTable('model_prices')
      .set({ ...columns(price), updated_at: now })
      .where('model', '=', price.model)
      .execute();
    return true;
  }

  async #require(model: string): Promise<StoredPrice> {
    const found = await this.get(model);
    if (found === undefined) throw new Error(`price of '${model}' vanished after being written`);
    return found;
  }
}

function columns(price: ModelPrice) {
  return {
    input_nano: price.inputNano,
    output_nano: price.outputNano,
    cached_input_nano: price.cachedInputNano,
    reasoning_nano: price.reasoningNano,
    per_request_nano: price.perRequestNano,
    per_image_nano: price.perImageNano,
  };
}

export function toModelPrice(p: StoredPrice): ModelPrice {
  return {
    model: p.model,
    inputNano: p.inputNano,
    outputNano: p.outputNano,
    cachedInputNano: p.cachedInputNano,
    reasoningNano: p.reasoningNano,
    perRequestNano: p.perRequestNano,
    perImageNano: p.perImageNano,
  };
}

/** BIGINT columns come back as strings on MySQL. */
function toPrice(row: ModelPriceRow): StoredPrice {
  return {
    model: row.model,
    inputNano: Number(row.input_nano),
    outputNano: Number(row.output_nano),
    cachedInputNano: row.cached_input_nano === null ? null : Number(row.cached_input_nano),
    reasoningNano: row.reasoning_nano === null ? null : Number(row.reasoning_nano),
    perRequestNano: Number(row.per_request_nano),
    perImageNano: Number(row.per_image_nano),
    managedBy: toManagedBy(row.managed_by),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
