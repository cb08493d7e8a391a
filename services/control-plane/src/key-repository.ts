import type { Kysely } from 'kysely';
import type { ApiKeyRow, DB } from '@switchyard/core';
import { parseStringArray } from './json-columns.js';

/** A client key as stored: the hash and a display prefix, never the plaintext. */
export interface StoredKey {
  id: number;
  name: string;
  keyHash: string;
  keyPrefix: string;
  /** Allowed model globs; null means every model. */
  models: string[] | null;
  /** Epoch milliseconds, or null for a key that never expires. */
  expiresAt: number | null;
  group: string;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
  /** Admin override: only this channel serves the key. */
  pinnedChannelId: number | null;
  /** Admin override: channels the key never reaches. */
  excludedChannelIds: number[];
}

export interface NewKey {
  name: string;
  keyHash: string;
  keyPrefix: string;
  models: string[] | null;
  expiresAt: number | null;
  group: string;
  enabled: boolean;
  pinnedChannelId?: number | null;
  excludedChannelIds?: number[];
}

/** Fields of a key an admin may change; the hash never changes (issue a new key instead). */
export type KeyPatch = Partial<
  Pick<
    NewKey,
    'name' | 'models' | 'expiresAt' | 'group' | 'enabled' | 'pinnedChannelId' | 'excludedChannelIds'
  >
>;

/** SQL for client keys (`api_keys`). */
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

  async get(id: number): Promise<StoredKey | undefined> {
    const row = await this.#db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toKey(row);
  }

  async create(key: NewKey, now: number): Promise<StoredKey> {
    const result = await this.#db
      .insertInto('api_keys')
      .values({
        name: key.name,
        key_hash: key.keyHash,
        key_prefix: key.keyPrefix,
        models: key.models === null ? null : JSON.stringify(key.models),
        expires_at: key.expiresAt,
        group_name: key.group,
        pinned_channel_id: key.pinnedChannelId ?? null,
        excluded_channel_ids:
          key.excludedChannelIds === undefined || key.excludedChannelIds.length === 0
            ? null
            : JSON.stringify(key.excludedChannelIds),
        enabled: key.enabled ? 1 : 0,
        created_at: now,
        updated_at: now,
      })
      .executeTakeFirstOrThrow();
    const created = await this.get(Number(result.insertId));
    if (created === undefined) throw new Error('inserted key not found');
    return created;
  }

  /** Applies `patch`; resolves undefined when the key does not exist. */
  async update(id: number, patch: KeyPatch, now: number): Promise<StoredKey | undefined> {
    await this.#db
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
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
    // Existence is read back rather than taken from the row count: MySQL may count only changed rows.
    return this.get(id);
  }

  /** Resolves false when the key did not exist. */
  async delete(id: number): Promise<boolean> {
    const result = await this.#db.deleteFrom('api_keys').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
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
  };
}
