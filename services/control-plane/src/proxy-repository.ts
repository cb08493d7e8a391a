import type { Kysely } from 'kysely';
import type { DB, ProxyRow } from '@switchyard/core';

/** An outbound proxy as stored: the URL stays a SecretBox envelope (it may carry a password). */
export interface StoredProxy {
  id: number;
  name: string;
  /** SecretBox envelope of the full proxy URL; never leaves the control plane as is. */
  url: string;
  /** The URL with credentials masked (`socks5://***@host:1080`). */
  displayUrl: string;
  /** Most accounts it takes; null = no cap. */
  maxAccounts: number | null;
  enabled: boolean;
  /** How many accounts are assigned to it. */
  accounts: number;
  createdAt: number;
  updatedAt: number;
}

/** A proxy to insert; `url` is already encrypted. */
export interface NewProxy {
  name: string;
  url: string;
  displayUrl: string;
  maxAccounts: number | null;
  enabled: boolean;
}

export type ProxyPatch = Partial<NewProxy>;

/** SQL for outbound proxies (`proxies`); account assignment lives in proxy-assignment.ts. */
export class ProxyRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Every proxy with its account count, ordered by id. */
  async list(): Promise<StoredProxy[]> {
    const rows = await this.#db.selectFrom('proxies').selectAll().orderBy('id').execute();
    const counts = await countAccountsByProxy(this.#db);
    return rows.map((row) => toProxy(row, counts.get(Number(row.id)) ?? 0));
  }

  async get(id: number): Promise<StoredProxy | undefined> {
    return getProxy(this.#db, id);
  }

  async create(proxy: NewProxy, now: number): Promise<StoredProxy> {
    const result = await this.#db
      .insertInto('proxies')
      .values({
        name: proxy.name,
        url: proxy.url,
        display_url: proxy.displayUrl,
        max_accounts: proxy.maxAccounts,
        enabled: proxy.enabled ? 1 : 0,
        created_at: now,
        updated_at: now,
      })
      .executeTakeFirstOrThrow();
    const created = await this.get(Number(result.insertId));
    if (created === undefined) throw new Error('inserted proxy not found');
    return created;
  }

  /** Applies `patch`; resolves undefined when the proxy does not exist. */
  async update(id: number, patch: ProxyPatch, now: number): Promise<StoredProxy | undefined> {
    await this.#db
      .updateTable('proxies')
      .set({
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.url !== undefined && { url: patch.url }),
        ...(patch.displayUrl !== undefined && { display_url: patch.displayUrl }),
        ...(patch.maxAccounts !== undefined && { max_accounts: patch.maxAccounts }),
        ...(patch.enabled !== undefined && { enabled: patch.enabled ? 1 : 0 }),
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
    // Existence is read back rather than taken from the row count: MySQL may count only changed rows.
    return this.get(id);
  }

  /**
   * Deletes a proxy no account is assigned to. The row is locked (written) before the accounts are
   * counted, so a concurrent assignment (proxy-assignment.ts locks the same row) cannot slip in between.
   */
  async delete(id: number): Promise<'deleted' | 'not_found' | 'in_use'> {
    return this.#db.transaction().execute(async (trx) => {
      await trx
        .updateTable('proxies')
        .set((eb) => ({ max_accounts: eb.ref('max_accounts') }))
        .where('id', '=', id)
        .execute();
      const proxy = await trx.selectFrom('proxies').select('id').where('id', '=', id).executeTakeFirst();
      if (proxy === undefined) return 'not_found';
      const used = await trx
        .selectFrom('accounts')
        .select('id')
        .where('proxy_id', '=', id)
        .limit(1)
        .executeTakeFirst();
      if (used !== undefined) return 'in_use';
      await trx.deleteFrom('proxies').where('id', '=', id).execute();
      return 'deleted';
    });
  }
}

async function getProxy(db: Kysely<DB>, id: number): Promise<StoredProxy | undefined> {
  const row = await db.selectFrom('proxies').selectAll().where('id', '=', id).executeTakeFirst();
  if (row === undefined) return undefined;
  const counts = await countAccountsByProxy(db, { proxyId: id });
  return toProxy(row, counts.get(id) ?? 0);
}

/** Accounts assigned per proxy id: of one proxy, or of all; `exceptAccountId` is left out of the count. */
export async function countAccountsByProxy(
  db: Kysely<DB>,
  opts: { proxyId?: number; exceptAccountId?: number } = {},
): Promise<Map<number, number>> {
  let query = db
    .selectFrom('accounts')
    .select((eb) => ['proxy_id', eb.fn.countAll<number | string>().as('n')])
    .where('proxy_id', 'is not', null)
    .groupBy('proxy_id');
  if (opts.proxyId !== undefined) query = query.where('proxy_id', '=', opts.proxyId);
  if (opts.exceptAccountId !== undefined) query = query.where('id', '!=', opts.exceptAccountId);
  const rows = await query.execute();
  return new Map(rows.map((r) => [Number(r.proxy_id), Number(r.n)]));
}

function toProxy(row: ProxyRow, accounts: number): StoredProxy {
  return {
    id: Number(row.id),
    name: row.name,
    url: row.url,
    displayUrl: row.display_url,
    maxAccounts: row.max_accounts === null ? null : Number(row.max_accounts),
    enabled: Number(row.enabled) === 1,
    accounts,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
