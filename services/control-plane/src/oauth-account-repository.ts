import type { Kysely } from 'kysely';
import type { DB } from '@switchyard/core';
import { AccountRepository } from './account-repository.js';
import type { StoredAccount } from './channel-repository.js';
import { assignProxy, type ProxyChoice } from './proxy-assignment.js';

/** An enabled OAuth account with a known expiry, as the refresher scans them. */
export interface RefreshCandidate {
  id: number;
  oauthProfile: string | null;
  tokenExpiresAt: number;
}

/**
 * SQL for the OAuth side of `accounts`: the refresh lease and the token columns. The lease is what
 * keeps control-plane replicas from refreshing one account at once: only a replica whose guarded
 * UPDATE took it calls the token endpoint (a rotating refresh token works once).
 */
export class OAuthAccountRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  get(id: number): Promise<StoredAccount | undefined> {
    return new AccountRepository(this.#db).get(id);
  }

  /** Enabled OAuth accounts with an expiry whose lease is free at `now`, soonest expiry first. */
  async refreshCandidates(now: number): Promise<RefreshCandidate[]> {
    const rows = await this.#db
      .selectFrom('accounts')
      .select(['id', 'oauth_profile', 'token_expires_at'])
      .where('kind', '=', 'oauth')
      .where('enabled', '=', 1)
      .where('token_expires_at', 'is not', null)
      .where((eb) => eb.or([eb('refresh_lease_until', 'is', null), eb('refresh_lease_until', '<', now)]))
      .orderBy('token_expires_at')
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      oauthProfile: r.oauth_profile,
      tokenExpiresAt: Number(r.token_expires_at),
    }));
  }

  /**
   * Takes the refresh lease of account `id` for `owner` until `now + leaseMs`, in one guarded UPDATE:
   * it matches only while nobody holds an unexpired lease. Resolves whether this call took it. On
   * MySQL the count is of changed rows; a matching row always changes (`refresh_lease_until` moves
   * forward, the previous lease having ended before `now`), so the count is exact.
   */
  async acquireLease(id: number, owner: string, now: number, leaseMs: number): Promise<boolean> {
    const result = await this.#db
      .updateTable('accounts')
      .set({ refresh_lease_owner: owner, refresh_lease_until: now + leaseMs })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('refresh_lease_until', 'is', null), eb('refresh_lease_until', '<', now)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Ends `owner`'s lease of account `id` (a no-op when another replica holds it by now). */
  async releaseLease(id: number, owner: string): Promise<void> {
    await this.#db
      .updateTable('accounts')
      .set({ refresh_lease_owner: null, refresh_lease_until: null })
      .where('id', '=', id)
      .where('refresh_lease_owner', '=', owner)
      .execute();
  }

  /**
   * Stores refreshed tokens (`credential` already encrypted) and ends the lease. Written whoever holds
   * the lease by now: the old refresh token is spent, so these are the only ones that still work (the
   * token call's timeout is far shorter than the lease, so another holder is not expected).
   */
  async storeTokens(id: number, credential: string, tokenExpiresAt: number, now: number): Promise<void> {
    await this.#db
      .updateTable('accounts')
      .set({
        credential,
        token_expires_at: tokenExpiresAt,
        refresh_lease_owner: null,
        refresh_lease_until: null,
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
  }

  /**
   * The latest `updated_at` of any OAuth account (null: none): a replica that sees it move knows
   * another one refreshed or disabled an account and republishes its own snapshot.
   */
  async lastChange(): Promise<number | null> {
    const row = await this.#db
      .selectFrom('accounts')
      .select((eb) => eb.fn.max('updated_at').as('last'))
      .where('kind', '=', 'oauth')
      .executeTakeFirst();
    return row?.last === null || row?.last === undefined ? null : Number(row.last);
  }

  /**
   * The proxy id `choice` comes to (assignProxy's checks and errors: unknown, disabled, full), for an
   * account that does not exist yet. Nothing is reserved: the account's insert checks the cap again.
   */
  async chooseProxy(choice: ProxyChoice): Promise<number | null> {
    return this.#db.transaction().execute((trx) => assignProxy(trx, choice));
  }

  /**
   * The encrypted URL of the account's proxy: null for a direct connection, undefined when the proxy
   * is missing or disabled (token calls must not silently go direct instead).
   */
  async proxyUrlEnvelope(proxyId: number | null): Promise<string | null | undefined> {
    if (proxyId === null) return null;
    const row = await this.#db
      .selectFrom('proxies')
      .select(['url', 'enabled'])
      .where('id', '=', proxyId)
      .executeTakeFirst();
    return row === undefined || Number(row.enabled) !== 1 ? undefined : row.url;
  }
}
