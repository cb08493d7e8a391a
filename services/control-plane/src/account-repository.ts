import type { Kysely } from 'kysely';
import type { AccountKind, DB, ProviderId } from '@switchyard/core';
import { PROVIDER_IDS } from '@switchyard/core';
import { toAccount, type StoredAccount } from './channel-repository.js';
import { conflict, lockProxiesFor, pickProxy, type ProxyChoice } from './proxy-assignment.js';

/** Why 100: the same cap as a channel's `accounts` list (channel-input.ts). */
export const MAX_ACCOUNTS_PER_CHANNEL = 100;

/** The `disabled_reason` of an account an admin disabled without giving one. */
export const ADMIN_DISABLED_REASON = 'disabled by an admin';

/** The channel an account is added to or belongs to, as the account routes need it. */
export interface AccountChannel {
  id: number;
  provider: ProviderId;
  /** How many accounts it has now. */
  accounts: number;
}

/** An account to add to a channel; `credential` is already encrypted. */
export interface NewChannelAccount {
  name: string;
  credential: string;
  enabled: boolean;
  /** The outbound proxy (pickProxy's rules); null: direct. */
  proxy: ProxyChoice;
  kind?: AccountKind;
  oauthProfile?: string | null;
  oauthConfig?: Record<string, unknown> | null;
  tokenExpiresAt?: number | null;
}

/** Fields of an account to change. */
export interface AccountChanges {
  name?: string;
  /** Another proxy (or direct); keeping the current proxy always succeeds. */
  proxy?: ProxyChoice;
  /**
   * The new credential's envelope, computed from the account and its channel inside the transaction
   * (check it against the provider there; a throw rolls back and propagates).
   */
  credential?: (current: StoredAccount, channel: AccountChannel) => string;
}

/**
 * SQL for accounts as their own resource (channel-repository.ts writes them as part of a channel).
 * Writes run in transactions that lock the rows they check against: the channel on create (its
 * account cap), the proxy on every assignment (its `max_accounts`).
 */
export class AccountRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  async get(id: number): Promise<StoredAccount | undefined> {
    const row = await this.#db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toAccount(row);
  }

  /** The channel's accounts, ordered by id. */
  async listByChannel(channelId: number): Promise<StoredAccount[]> {
    const rows = await this.#db
      .selectFrom('accounts')
      .selectAll()
      .where('channel_id', '=', channelId)
      .orderBy('id')
      .execute();
    return rows.map(toAccount);
  }

  /**
   * Adds the account `build(channel)` describes to channel `channelId` (a throw in `build` rolls back
   * and propagates); resolves undefined when the channel does not exist. 409 `channel_full` at
   * MAX_ACCOUNTS_PER_CHANNEL accounts; the proxy errors of pickProxy.
   *
   * Every proxy row is locked first, whatever the account's choice (only `build` knows it): creating
   * accounts is a rare admin write, so serialising all of them costs nothing and keeps the lock order
   * (proxies, then the channel) the same for every writer.
   */
  async create(
    channelId: number,
    build: (channel: AccountChannel) => NewChannelAccount,
    now: number,
  ): Promise<StoredAccount | undefined> {
    return this.#db.transaction().execute(async (trx) => {
      await lockProxiesFor(trx, 'any');
      // Written before any read so the channel row is locked (MySQL) while its accounts are counted.
      await trx.updateTable('channels').set({ updated_at: now }).where('id', '=', channelId).execute();
      const channel = await readChannel(trx, channelId);
      if (channel === undefined) return undefined;
      if (channel.accounts >= MAX_ACCOUNTS_PER_CHANNEL) {
        throw conflict(
          `Channel ${channelId} already has the maximum of ${MAX_ACCOUNTS_PER_CHANNEL} accounts.`,
          'channel_full',
          'id',
        );
      }
      const account = build(channel);
      const proxyId = await pickProxy(trx, account.proxy);
      const result = await trx
        .insertInto('accounts')
        .values({
          channel_id: channelId,
          name: account.name,
          credential: account.credential,
          enabled: account.enabled ? 1 : 0,
          kind: account.kind ?? 'api_key',
          oauth_profile: account.oauthProfile ?? null,
          oauth_config: account.oauthConfig == null ? null : JSON.stringify(account.oauthConfig),
          token_expires_at: account.tokenExpiresAt ?? null,
          proxy_id: proxyId,
          ...(!account.enabled && {
            disabled_by: 'admin',
            disabled_reason: ADMIN_DISABLED_REASON,
            disabled_at: now,
          }),
          created_at: now,
          updated_at: now,
        })
        .executeTakeFirstOrThrow();
      return requireAccount(trx, Number(result.insertId));
    });
  }

  /**
   * Applies `changes`; resolves undefined when the account does not exist. A new proxy goes through
   * pickProxy, a new credential is computed by `changes.credential` inside the transaction.
   */
  async update(id: number, changes: AccountChanges, now: number): Promise<StoredAccount | undefined> {
    return this.#db.transaction().execute(async (trx) => {
      if (changes.proxy !== undefined) await lockProxiesFor(trx, changes.proxy);
      // Written before any read so the row is locked (MySQL) before it is read.
      await trx.updateTable('accounts').set({ updated_at: now }).where('id', '=', id).execute();
      const row = await trx.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
      if (row === undefined) return undefined;
      const current = toAccount(row);
      const channel = await readChannel(trx, current.channelId);
      if (channel === undefined)
        throw new Error(`account ${id} belongs to missing channel ${current.channelId}`);
      const credential = changes.credential?.(current, channel);
      const proxyId =
        changes.proxy === undefined
          ? undefined
          : await pickProxy(trx, changes.proxy, { accountId: id, currentProxyId: current.proxyId });
      await trx
        .updateTable('accounts')
        .set({
          ...(changes.name !== undefined && { name: changes.name }),
          ...(credential !== undefined && { credential }),
          ...(proxyId !== undefined && { proxy_id: proxyId }),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
      return requireAccount(trx, id);
    });
  }

  /** Resolves false when the account did not exist. */
  async delete(id: number): Promise<boolean> {
    const result = await this.#db.deleteFrom('accounts').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * An admin takes the account out of rotation (again, if it already was: the reason is replaced);
   * resolves undefined when it does not exist.
   */
  async disableByAdmin(id: number, reason: string, now: number): Promise<StoredAccount | undefined> {
    await this.#db
      .updateTable('accounts')
      .set({ enabled: 0, disabled_by: 'admin', disabled_reason: reason, disabled_at: now, updated_at: now })
      .where('id', '=', id)
      .execute();
    return this.get(id);
  }

  /** enableAccount on this repository's database; resolves undefined when the account does not exist. */
  async enable(id: number, now: number): Promise<StoredAccount | undefined> {
    await enableAccount(this.#db, id, now);
    return this.get(id);
  }
}

/**
 * Takes an account out of rotation on the system's own judgement (the upstream rejected its
 * credential, an OAuth refresh failed): enabled 0, disabled_by 'auto', the reason and time recorded.
 * Resolves false when the account does not exist or is already disabled (by anyone), so the first
 * report wins and an admin's reason is never overwritten. The caller publishes a new snapshot.
 */
export async function disableAccountAutomatically(
  db: Kysely<DB>,
  accountId: number,
  reason: string,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('accounts')
    .set({ enabled: 0, disabled_by: 'auto', disabled_reason: reason, disabled_at: now, updated_at: now })
    .where('id', '=', accountId)
    .where('enabled', '=', 1)
    .executeTakeFirst();
  // Only rows that were enabled match, and each of them changes, so the count is exact on MySQL too.
  return Number(result.numUpdatedRows) > 0;
}

/**
 * Puts an account back into rotation and clears its disabled reason, author and time. Resolves false
 * when the account does not exist or is already enabled. The caller clears its cooldown
 * (`coordination.clearCooldown(accountCoordinationKey(id))`) and publishes a new snapshot.
 */
export async function enableAccount(db: Kysely<DB>, accountId: number, now: number): Promise<boolean> {
  const result = await db
    .updateTable('accounts')
    .set({ enabled: 1, disabled_by: null, disabled_reason: null, disabled_at: null, updated_at: now })
    .where('id', '=', accountId)
    .where('enabled', '=', 0)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

async function readChannel(db: Kysely<DB>, id: number): Promise<AccountChannel | undefined> {
  const row = await db
    .selectFrom('channels')
    .select(['id', 'provider'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const count = await db
    .selectFrom('accounts')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('channel_id', '=', id)
    .executeTakeFirstOrThrow();
  const provider = PROVIDER_IDS.find((p) => p === row.provider);
  if (provider === undefined) throw new Error(`unknown provider '${row.provider}' in the channels table`);
  return { id, provider, accounts: Number(count.n) };
}

async function requireAccount(db: Kysely<DB>, id: number): Promise<StoredAccount> {
  const row = await db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
  if (row === undefined) throw new Error(`account ${id} vanished inside its own transaction`);
  return toAccount(row);
}
