import type { Kysely } from 'kysely';
import type { DB } from '@switchyard/core';

/** The client key a dashboard request authenticated with, and its user: what the caller may see. */
export interface DashboardCaller {
  key: {
    id: number;
    name: string;
    keyPrefix: string;
    enabled: boolean;
    expiresAt: number | null;
    quotaNano: number | null;
    usedNano: number;
    lastUsedAt: number | null;
  };
  /** Null for a key of no user (or whose user no longer exists). */
  user: {
    id: number;
    name: string;
    enabled: boolean;
    quotaNano: number | null;
    usedNano: number;
    lastUsedAt: number | null;
  } | null;
}

const num = (v: number | string): number => Number(v);
const numOrNull = (v: number | string | null): number | null => (v === null ? null : Number(v));

/** Finds dashboard callers by the SHA-256 of their client key (`api_keys.key_hash`, unique). */
export class DashboardCallers {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** The key with this hash and its user, or undefined when no key has it. */
  async byKeyHash(keyHash: string): Promise<DashboardCaller | undefined> {
    const row = await this.#db
      .selectFrom('api_keys as k')
      .leftJoin('users as u', 'u.id', 'k.user_id')
      .select([
        'k.id as key_id',
        'k.name as key_name',
        'k.key_prefix',
        'k.enabled as key_enabled',
        'k.expires_at',
        'k.quota_nano as key_quota_nano',
        'k.used_nano as key_used_nano',
        'k.last_used_at as key_last_used_at',
        'u.id as user_id',
        'u.name as user_name',
        'u.enabled as user_enabled',
        'u.quota_nano as user_quota_nano',
        'u.used_nano as user_used_nano',
        'u.last_used_at as user_last_used_at',
      ])
      .where('k.key_hash', '=', keyHash)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    return {
      key: {
        id: num(row.key_id),
        name: row.key_name,
        keyPrefix: row.key_prefix,
        enabled: Number(row.key_enabled) === 1,
        expiresAt: numOrNull(row.expires_at),
        quotaNano: numOrNull(row.key_quota_nano),
        usedNano: num(row.key_used_nano),
        lastUsedAt: numOrNull(row.key_last_used_at),
      },
      user:
        row.user_id === null
          ? null
          : {
              id: num(row.user_id),
              name: row.user_name ?? '',
              enabled: Number(row.user_enabled) === 1,
              quotaNano: numOrNull(row.user_quota_nano),
              usedNano: num(row.user_used_nano ?? 0),
              lastUsedAt: numOrNull(row.user_last_used_at),
            },
    };
  }
}
