import type { Kysely } from 'kysely';
import { InvalidRequestError, type ApiKeyRow, type DB, type KeyRecord } from '@switchyard/core';
import { DEFAULT_GROUP, lockGroup, requireGroupExists } from './group-repository.js';
import { parseStringArray } from './json-columns.js';
import { limitChanges, limitValues, numberOrNull, readLimits, type LimitSettings } from './limit-columns.js';
import { toManagedBy, type ManagedBy } from './managed-by.js';
import { containsText, readPage, type Page, type PageWindow } from './page-query.js';
import { lockUser } from './user-repository.js';

/**
 * A client key as stored: the snapshot's record (the hash, never the plaintext) plus the display
 * prefix, the last change and the last use.
 */
export interface StoredKey extends KeyRecord {
  keyPrefix: string;
  updatedAt: number;
  /** The newest settled request's time, epoch ms; null before the first. */
  lastUsedAt: number | null;
  /** 'file' when a configuration file manages it. */
  managedBy: ManagedBy;
}

/** A new key; a limit left out is none (an unlimited quota). */
export interface NewKey extends Partial<LimitSettings> {
  name: string;
  keyHash: string;
  keyPrefix: string;
  models: string[] | null;
  expiresAt: number | null;
  /** Must exist (400 `unknown_group`); omitted: the user's group, or 'default' for a key of no user. */
  group?: string | undefined;
  enabled: boolean;
  pinnedChannelId?: number | null;
  excludedChannelIds?: number[];
  /** Must exist (400 `unknown_user`). */
  userId?: number | null;
  ipAllowlist?: string[] | null;
}

/** Fields of a key an admin may change; the hash never changes (issue a new key instead). */
export type KeyPatch = Partial<
  Pick<
    NewKey,
    | 'name'
    | 'models'
    | 'expiresAt'
    | 'group'
    | 'enabled'
    | 'pinnedChannelId'
    | 'excludedChannelIds'
    | 'userId'
    | 'quotaNano'
    | 'ipAllowlist'
    | 'rpmLimit'
    | 'tpmLimit'
    | 'concurrencyLimit'
  >
>;

export interface KeyFilter extends PageWindow {
  userId?: number | undefined;
  group?: string | undefined;
  enabled?: boolean | undefined;
  /** Substring of the name, case-insensitive. */
  q?: string | undefined;
}

function unknownUser(id: number): InvalidRequestError {
  return new InvalidRequestError(`User ${id} does not exist.`, { code: 'unknown_user', param: 'user_id' });
}

/**
 * SQL for client keys (`api_keys`). Writes that name a group or a user lock that row first (groups,
 * then users), so a concurrent DELETE of the group or user cannot leave the key pointing at nothing.
 */
export class KeyRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Every key, ordered by id. */
  async list(): Promise<StoredKey[]> {
    const rows = await this.#db.selectFrom('api_keys').selectAll().orderBy('id').execute();
    return rows.map(toKey);
  }

  /** Keys in id order after `afterId`, filtered; one page of `limit`. */
  async page(filter: KeyFilter): Promise<Page<StoredKey>> {
    let query = this.#db.selectFrom('api_keys').selectAll();
    if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
    if (filter.group !== undefined) query = query.where('group_name', '=', filter.group);
    if (filter.enabled !== undefined) query = query.where('enabled', '=', filter.enabled ? 1 : 0);
    if (filter.q !== undefined) query = query.where(containsText('name', filter.q));
    const page = await readPage(query, filter);
    return { rows: page.rows.map(toKey), hasMore: page.hasMore };
  }

  async get(id: number): Promise<StoredKey | undefined> {
    const row = await this.#db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toKey(row);
  }

  /** Creates a key; 400 `unknown_group` / `unknown_user` when those it names do not exist. */
  async create(key: NewKey, now: number): Promise<StoredKey> {
    const id = await this.#db.transaction().execute(async (trx) => {
      const userId = key.userId ?? null;
      if (key.group !== undefined) await lockGroup(trx, key.group);
      if (userId !== null) await lockUser(trx, userId);
      let group = key.group;
      if (group !== undefined) await requireGroupExists(trx, group);
      if (userId !== null) {
        const owner = await trx
          .selectFrom('users')
          .select('group_name')
          .where('id', '=', userId)
          .executeTakeFirst();
        if (owner === undefined) throw unknownUser(userId);
        // The user's group needs no lock: a group is not deleted while a user (locked here) is in it.
        group ??= owner.group_name;
      }
      const result = await trx
        .insertInto('api_keys')
        .values({
          name: key.name,
          key_hash: key.keyHash,
          key_prefix: key.keyPrefix,
          models: key.models === null ? null : JSON.stringify(key.models),
          expires_at: key.expiresAt,
          group_name: group ?? DEFAULT_GROUP,
          pinned_channel_id: key.pinnedChannelId ?? null,
          excluded_channel_ids:
            key.excludedChannelIds === undefined || key.excludedChannelIds.length === 0
              ? null
              : JSON.stringify(key.excludedChannelIds),
          enabled: key.enabled ? 1 : 0,
          user_id: userId,
          ip_allowlist: jsonOrNull(key.ipAllowlist ?? null),
          ...limitValues(key),
          created_at: now,
          updated_at: now,
        })
        .executeTakeFirstOrThrow();
      return Number(result.insertId);
    });
    const created = await this.get(id);
    if (created === undefined) throw new Error('inserted key not found');
    return created;
  }

  /**
   * Applies `patch`; resolves undefined when the key does not exist. A group or user it names must
   * exist (400 `unknown_group` / `unknown_user`); changing the user leaves the key's group as it is.
   */
  async update(id: number, patch: KeyPatch, now: number): Promise<StoredKey | undefined> {
    const found = await this.#db.transaction().execute(async (trx) => {
      const userId = patch.userId ?? null;
      if (patch.group !== undefined) await lockGroup(trx, patch.group);
      if (userId !== null) await lockUser(trx, userId);
      if (
        (await trx.selectFrom('api_keys').select('id').where('id', '=', id).executeTakeFirst()) === undefined
      ) {
        return false;
      }
      if (patch.group !== undefined) await requireGroupExists(trx, patch.group);
      if (
        userId !== null &&
        (await trx.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst()) === undefined
      ) {
        throw unknownUser(userId);
      }
      await trx
        .updateTable('api_keys')
        .set({
          ...(patch.name !== undefined && { name: patch.name }),
          ...(patch.models !== undefined && {
            models: patch.models === null ? null : JSON.stringify(patch.models),
          }),
          ...(patch.expiresAt !== undefined && { expires_at: patch.expiresAt }),
          ...(patch.group !== undefined && { group_name: patch.group }),
          ...(patch.pinnedChannelId !== undefined && { pinned_channel_id: patch.pinnedChannelId }),
          ...(patch.excludedChannelIds !== undefined && {
            excluded_channel_ids:
              patch.excludedChannelIds.length === 0 ? null : JSON.stringify(patch.excludedChannelIds),
          }),
          ...(patch.enabled !== undefined && { enabled: patch.enabled ? 1 : 0 }),
          ...(patch.userId !== undefined && { user_id: patch.userId }),
          ...(patch.ipAllowlist !== undefined && { ip_allowlist: jsonOrNull(patch.ipAllowlist) }),
          ...limitChanges(patch),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
      return true;
    });
    return found ? this.get(id) : undefined;
  }

  /** Resolves false when the key did not exist. */
  async delete(id: number): Promise<boolean> {
    const result = await this.#db.deleteFrom('api_keys').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}

function jsonOrNull(list: string[] | null): string | null {
  return list === null ? null : JSON.stringify(list);
}

function toKey(row: ApiKeyRow): StoredKey {
  return {
    id: Number(row.id),
    name: row.name,
    keyHash: row.key_hash,
    keyPrefix: row.key_prefix,
    models: row.models === null ? null : parseStringArray(row.models),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    group: row.group_name,
    enabled: Number(row.enabled) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    pinnedChannelId: row.pinned_channel_id === null ? null : Number(row.pinned_channel_id),
    excludedChannelIds:
      row.excluded_channel_ids === null ? [] : (JSON.parse(row.excluded_channel_ids) as number[]).map(Number),
    userId: numberOrNull(row.user_id),
    ipAllowlist: row.ip_allowlist === null ? null : parseStringArray(row.ip_allowlist),
    ...readLimits(row),
    managedBy: toManagedBy(row.managed_by),
  };
}
