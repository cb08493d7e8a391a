import type { Kysely } from 'kysely';
import { GatewayError, MAX_NANOS, type DB, type UserRecord, type UserRow } from '@switchyard/core';
import { lockGroup, requireGroupExists } from './group-repository.js';
import { limitChanges, limitValues, readLimits, type LimitSettings } from './limit-columns.js';
import { toManagedBy, type ManagedBy } from './managed-by.js';
import { containsText, readPage, type Page, type PageWindow } from './page-query.js';
import { conflict } from './proxy-assignment.js';

/** A user (the owner of keys) as stored: the snapshot's record plus the email, its key count, last change and use. */
export interface StoredUser extends UserRecord {
  email: string | null;
  /** Keys that belong to the user. */
  keys: number;
  /** The newest settled request's time, epoch ms; null before the first. */
  lastUsedAt: number | null;
  updatedAt: number;
  /** 'file' when a configuration file manages it. */
  managedBy: ManagedBy;
}

/** A new user; a limit left out is none (an unlimited quota). */
export interface NewUser extends Partial<LimitSettings> {
  name: string;
  email: string | null;
  group: string;
  enabled: boolean;
}

export type UserPatch = Partial<NewUser>;

export interface UserFilter extends PageWindow {
  group?: string | undefined;
  enabled?: boolean | undefined;
  /** Substring of the name or the email, case-insensitive. */
  q?: string | undefined;
}

export type UserDeletion =
  | { outcome: 'deleted'; keysDeleted: number }
  | { outcome: 'not_found' }
  | { outcome: 'has_keys'; keys: number };

export type TopUpResult =
  | { outcome: 'ok'; user: StoredUser }
  | { outcome: 'not_found' }
  | { outcome: 'unlimited' }
  | { outcome: 'overflow' };

/** SQL for users (`users`); their keys are in `api_keys.user_id`. */
export class UserRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Users in id order after `afterId`, filtered; one page of `limit`. */
  async page(filter: UserFilter): Promise<Page<StoredUser>> {
    let query = this.#db.selectFrom('users').selectAll();
    if (filter.group !== undefined) query = query.where('group_name', '=', filter.group);
    if (filter.enabled !== undefined) query = query.where('enabled', '=', filter.enabled ? 1 : 0);
    if (filter.q !== undefined) {
      const q = filter.q;
      query = query.where((eb) => eb.or([containsText('name', q), containsText('email', q)]));
    }
    const page = await readPage(query, filter);
    const counts = await countKeysByUser(
      this.#db,
      page.rows.map((r) => Number(r.id)),
    );
    return { rows: page.rows.map((r) => toUser(r, counts.get(Number(r.id)) ?? 0)), hasMore: page.hasMore };
  }

  /** Every user as the relay's snapshot carries it, ordered by id. */
  async records(): Promise<UserRecord[]> {
    const rows = await this.#db.selectFrom('users').selectAll().orderBy('id').execute();
    return rows.map((r) => {
      const u = toUser(r, 0);
      return {
        id: u.id,
        name: u.name,
        enabled: u.enabled,
        group: u.group,
        quotaNano: u.quotaNano,
        usedNano: u.usedNano,
        rpmLimit: u.rpmLimit,
        tpmLimit: u.tpmLimit,
        concurrencyLimit: u.concurrencyLimit,
        createdAt: u.createdAt,
      };
    });
  }

  async get(id: number): Promise<StoredUser | undefined> {
    return getUser(this.#db, id);
  }

  /** Creates a user; 400 `unknown_group`, 409 `user_exists` (a lost race included). */
  async create(user: NewUser, now: number): Promise<StoredUser> {
    try {
      const id = await this.#db.transaction().execute(async (trx) => {
        await lockGroup(trx, user.group);
        await requireGroupExists(trx, user.group);
        await requireNameFree(trx, user.name);
        const result = await trx
          .insertInto('users')
          .values({
            name: user.name,
            email: user.email,
            group_name: user.group,
            enabled: user.enabled ? 1 : 0,
            ...limitValues(user),
            created_at: now,
            updated_at: now,
          })
          .executeTakeFirstOrThrow();
        return Number(result.insertId);
      });
      return await requireUser(this.#db, id);
    } catch (err) {
      throw await this.#nameTaken(err, user.name);
    }
  }

  /**
   * Applies `patch`; resolves undefined when the user does not exist. A new group must exist (400
   * `unknown_group`, locked like on create); a new name must be free (409 `user_exists`).
   */
  async update(id: number, patch: UserPatch, now: number): Promise<StoredUser | undefined> {
    try {
      const found = await this.#db.transaction().execute(async (trx) => {
        if (patch.group !== undefined) await lockGroup(trx, patch.group);
        await lockUser(trx, id);
        if (
          (await trx.selectFrom('users').select('id').where('id', '=', id).executeTakeFirst()) === undefined
        ) {
          return false;
        }
        if (patch.group !== undefined) await requireGroupExists(trx, patch.group);
        if (patch.name !== undefined) await requireNameFree(trx, patch.name, id);
        await trx
          .updateTable('users')
          .set({
            ...(patch.name !== undefined && { name: patch.name }),
            ...(patch.email !== undefined && { email: patch.email }),
            ...(patch.group !== undefined && { group_name: patch.group }),
            ...(patch.enabled !== undefined && { enabled: patch.enabled ? 1 : 0 }),
            ...limitChanges(patch),
            updated_at: now,
          })
          .where('id', '=', id)
          .execute();
        return true;
      });
      return found ? await requireUser(this.#db, id) : undefined;
    } catch (err) {
      throw patch.name === undefined ? err : await this.#nameTaken(err, patch.name, id);
    }
  }

  /**
   * Deletes a user that owns no keys, or, with `cascade`, the user and its keys. The user's row is
   * locked before its keys are counted, and key writes that name a user lock it too (lockUser), so no
   * key can be given to it in between.
   */
  async delete(id: number, cascade: boolean): Promise<UserDeletion> {
    return this.#db.transaction().execute(async (trx): Promise<UserDeletion> => {
      await lockUser(trx, id);
      if (
        (await trx.selectFrom('users').select('id').where('id', '=', id).executeTakeFirst()) === undefined
      ) {
        return { outcome: 'not_found' };
      }
      const keys = (await countKeysByUser(trx, [id])).get(id) ?? 0;
      if (keys > 0 && !cascade) return { outcome: 'has_keys', keys };
      if (keys > 0) await trx.deleteFrom('api_keys').where('user_id', '=', id).execute();
      await trx.deleteFrom('users').where('id', '=', id).execute();
      return { outcome: 'deleted', keysDeleted: keys };
    });
  }

  /**
   * Adds `amountNano` (> 0) to the user's quota in one atomic update, so concurrent top-ups all count.
   * An unlimited quota stays unlimited; a quota that would pass MAX_NANOS is refused.
   */
  async topUp(id: number, amountNano: number, now: number): Promise<TopUpResult> {
    const result = await this.#db
      .updateTable('users')
      .set((eb) => ({ quota_nano: eb('quota_nano', '+', amountNano), updated_at: now }))
      .where('id', '=', id)
      .where('quota_nano', 'is not', null)
      .where('quota_nano', '<=', MAX_NANOS - amountNano)
      .executeTakeFirst();
    const user = await this.get(id);
    if (user === undefined) return { outcome: 'not_found' };
    // The quota grows by a positive amount, so a matched row is always a changed row (MySQL counts those).
    if (Number(result.numUpdatedRows) > 0) return { outcome: 'ok', user };
    return user.quotaNano === null ? { outcome: 'unlimited' } : { outcome: 'overflow' };
  }

  /**
   * A database error as 409 `user_exists` when `name` now belongs to another user (the unique index
   * refused a concurrent insert or rename); any other error as it is.
   */
  async #nameTaken(err: unknown, name: string, exceptId?: number): Promise<unknown> {
    if (err instanceof GatewayError) return err;
    try {
      await requireNameFree(this.#db, name, exceptId);
    } catch (taken) {
      return taken;
    }
    return err;
  }
}

/**
 * Locks user `id`'s row with a no-op write until the transaction ends (see lockGroup: before the
 * transaction's first read; lock order groups, then users, then keys).
 */
export async function lockUser(trx: Kysely<DB>, id: number): Promise<void> {
  await trx
    .updateTable('users')
    .set((eb) => ({ enabled: eb.ref('enabled') }))
    .where('id', '=', id)
    .execute();
}

/** Keys per user id, for the ids given. */
export async function countKeysByUser(db: Kysely<DB>, ids: readonly number[]): Promise<Map<number, number>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('api_keys')
    .select(['user_id', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('user_id', 'in', ids)
    .groupBy('user_id')
    .execute();
  return new Map(rows.map((r) => [Number(r.user_id), Number(r.n)]));
}

async function requireNameFree(db: Kysely<DB>, name: string, exceptId?: number): Promise<void> {
  let query = db.selectFrom('users').select('id').where('name', '=', name);
  if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
  if ((await query.executeTakeFirst()) !== undefined) {
    throw conflict(`A user named '${name}' already exists.`, 'user_exists', 'name');
  }
}

async function getUser(db: Kysely<DB>, id: number): Promise<StoredUser | undefined> {
  const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  if (row === undefined) return undefined;
  return toUser(row, (await countKeysByUser(db, [id])).get(id) ?? 0);
}

async function requireUser(db: Kysely<DB>, id: number): Promise<StoredUser> {
  const user = await getUser(db, id);
  if (user === undefined) throw new Error('written user not found');
  return user;
}

function toUser(row: UserRow, keys: number): StoredUser {
  return {
    id: Number(row.id),
    name: row.name,
    email: row.email,
    group: row.group_name,
    enabled: Number(row.enabled) === 1,
    ...readLimits(row),
    keys,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    managedBy: toManagedBy(row.managed_by),
  };
}
