import type { Kysely } from 'kysely';
import type { DB, UsageEvent } from '@switchyard/core';

const CREATED = 1_700_000_000_000;

/** Inserts a user named `user-<n>` and returns its id. */
export async function insertUser(db: Kysely<DB>, n: number): Promise<number> {
  const r = await db
    .insertInto('users')
    .values({
      name: `user-${n}`,
      group_name: 'default',
      enabled: 1,
      created_at: CREATED,
      updated_at: CREATED,
    })
    .executeTakeFirstOrThrow();
  return Number(r.insertId);
}

/** Inserts a client key named `key-<n>` (of `userId`, or of no user) and returns its id. */
export async function insertKey(db: Kysely<DB>, n: number, userId: number | null = null): Promise<number> {
  const r = await db
    .insertInto('api_keys')
    .values({
      name: `key-${n}`,
      key_hash: `hash-${n}`,
      key_prefix: `sk-sy-${n}`,
      group_name: 'default',
      enabled: 1,
      user_id: userId,
      created_at: CREATED,
      updated_at: CREATED,
    })
    .executeTakeFirstOrThrow();
  return Number(r.insertId);
}

/** The settled balance of a key and of a user, numbers on both dialects (MySQL returns BIGINT as strings). */
export async function keyBalance(
  db: Kysely<DB>,
  id: number,
): Promise<{ used_nano: number; last_used_at: number | null }> {
  const r = await db
    .selectFrom('api_keys')
    .select(['used_nano', 'last_used_at'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return {
    used_nano: Number(r.used_nano),
    last_used_at: r.last_used_at === null ? null : Number(r.last_used_at),
  };
}

export async function userBalance(
  db: Kysely<DB>,
  id: number,
): Promise<{ used_nano: number; last_used_at: number | null }> {
  const r = await db
    .selectFrom('users')
    .select(['used_nano', 'last_used_at'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return {
    used_nano: Number(r.used_nano),
    last_used_at: r.last_used_at === null ? null : Number(r.last_used_at),
  };
}

/** A charged usage event: `requestId` for `keyId` (and `userId`), costing `costNano`. */
export function chargedEvent(
  requestId: string,
  keyId: number,
  userId: number | null,
  costNano: number,
  overrides: Partial<UsageEvent> = {},
): UsageEvent {
  return {
    requestId,
    clientRequestId: null,
    keyId,
    userId,
    channelId: 1,
    accountId: 1,
    model: 'gpt-4o',
    upstreamModel: 'gpt-4o',
    promptTokens: 10,
    completionTokens: 5,
    totalTokens: 15,
    cachedTokens: 0,
    reasoningTokens: 0,
    costNano,
    partial: false,
    status: 'ok',
    httpStatus: 200,
    latencyMs: 20,
    stream: false,
    error: null,
    createdAt: 1_800_000_000_000,
    ...overrides,
  };
}
