import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { oauthProfile, type DB, type SecretBox } from '@switchyard/core';
import { disableAccountAutomatically } from './account-repository.js';
import type { StoredAccount } from './channel-repository.js';
import { OAuthAccountRepository } from './oauth-account-repository.js';
import { decodeOAuthCredential, encodeOAuthCredential } from './oauth-credential.js';
import { parseOAuthConfig, refreshRequest, tokenExpiry } from './oauth-flow.js';
import { OAuthTokenError, type OAuthTokenClient } from './oauth-http.js';

/**
 * Why 30 s: far inside the 5-minute refresh margin of the profiles, so a token is refreshed minutes
 * before it expires even when a tick fails or another replica is slow; a scan of the OAuth accounts
 * every 30 s costs one small query.
 */
export const DEFAULT_OAUTH_REFRESH_INTERVAL_MS = 30_000;
/** Why 60 s: four times the token call's 15 s timeout, so a lease outlives the refresh it guards. */
const LEASE_MS = 60_000;
/** Why 4: a tick over many accounts stays short without bursting a provider's token endpoint. */
const REFRESHES_AT_ONCE = 4;

export interface OAuthRefresherOptions {
  db: Kysely<DB>;
  /** Decrypts and encrypts `accounts.credential` and proxy URLs. */
  secretBox: SecretBox;
  tokens: OAuthTokenClient;
  logger: Logger;
  now: () => number;
  /** Rebuilds and publishes the config snapshot; called once per tick that saw a change. */
  publish: () => Promise<void>;
  /** Between two ticks; 0 turns the timer off (refreshNow() and refreshAccount() still work). */
  intervalMs: number;
  /** This replica's lease owner id; default a random one. */
  owner?: string;
}

/** What a refresh of one account came to. */
export type RefreshOutcome =
  | { result: 'refreshed'; account: StoredAccount }
  /** Not yet within its profile's margin, or disabled (only a forced refresh takes those). */
  | { result: 'not_due' }
  /** Another replica (or this one's tick) holds the lease right now. */
  | { result: 'leased_elsewhere' }
  /** No such account, or not an OAuth account. */
  | { result: 'not_found' }
  /** The grant is dead (invalid_grant, 400, 401): the account was disabled with the reason. */
  | { result: 'disabled'; reason: string; error: OAuthTokenError }
  /** A transient failure (network, 5xx, a missing proxy): the account stays, the next tick retries. */
  | { result: 'failed'; error: Error };

/**
 * Keeps OAuth access tokens fresh: every `intervalMs` it finds the enabled OAuth accounts whose token
 * expires within their profile's margin and refreshes each under a lease (one guarded UPDATE decides
 * which replica does it), storing the new tokens encrypted and publishing the snapshot so relays get
 * the new access token. A refresh the endpoint refuses (the grant is dead) disables the account with
 * the reason; a transient failure leaves it for the next tick. A replica that sees another one change
 * an OAuth account republishes too, so every replica's relays get the new token.
 */
export class OAuthRefresher {
  /** This replica's lease owner id. */
  readonly owner: string;

  readonly #opts: OAuthRefresherOptions;
  readonly #accounts: OAuthAccountRepository;
  #timer: NodeJS.Timeout | null = null;
  #tick: Promise<void> | null = null;
  #stopped = false;
  /** `lastChange()` as of the last tick; undefined before the first. */
  #lastChange: number | null | undefined = undefined;

  constructor(opts: OAuthRefresherOptions) {
    this.#opts = opts;
    this.owner = opts.owner ?? `cp-${randomBytes(12).toString('hex')}`;
    this.#accounts = new OAuthAccountRepository(opts.db);
  }

  /** Starts the timer (idempotent; a no-op when the interval is 0 or after stop()). */
  start(): void {
    if (this.#timer !== null || this.#opts.intervalMs <= 0 || this.#stopped) return;
    this.#timer = setInterval(() => {
      void this.refreshNow();
    }, this.#opts.intervalMs);
    // Background work: it never keeps the process alive on its own.
    this.#timer.unref();
  }

  /** Runs a tick now, or joins the one in progress. Never rejects: failures are logged. */
  refreshNow(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#tick ??= this.#runTick().finally(() => {
      this.#tick = null;
    });
    return this.#tick;
  }

  /**
   * Refreshes one account under the lease, due or not when `force`, and publishes when it changed
   * (refreshed or disabled).
   */
  async refreshAccount(id: number, opts: { force: boolean }): Promise<RefreshOutcome> {
    const outcome = await this.#refreshOne(id, opts.force);
    if (outcome.result === 'refreshed' || outcome.result === 'disabled') await this.#opts.publish();
    return outcome;
  }

  /**
   * Stops the timer and waits for a tick in progress. A token call in flight is not cut short: the
   * endpoint may already have rotated the refresh token, and only storing its answer keeps the account.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#tick;
  }

  async #runTick(): Promise<void> {
    const { logger } = this.#opts;
    try {
      const now = this.#opts.now();
      const due = (await this.#accounts.refreshCandidates(now)).filter(
        (c) => c.tokenExpiresAt < now + (oauthProfile(c.oauthProfile ?? '')?.refreshMarginMs ?? 0),
      );
      let changed = false;
      const queue = [...due];
      const worker = async () => {
        for (let next = queue.shift(); next !== undefined && !this.#stopped; next = queue.shift()) {
          const outcome = await this.#refreshOne(next.id, false);
          if (outcome.result === 'refreshed' || outcome.result === 'disabled') changed = true;
        }
      };
      await Promise.all(Array.from({ length: Math.min(REFRESHES_AT_ONCE, queue.length) }, worker));
      const last = await this.#accounts.lastChange();
      if (changed || last !== this.#lastChange) await this.#opts.publish();
      this.#lastChange = last;
    } catch (err) {
      logger.error({ err: errorSummary(err) }, 'OAuth refresh tick failed');
    }
  }

  async #refreshOne(id: number, force: boolean): Promise<RefreshOutcome> {
    const { logger, now } = this.#opts;
    if (!(await this.#accounts.acquireLease(id, this.owner, now(), LEASE_MS))) {
      return (await this.#accounts.get(id))?.kind === 'oauth'
        ? { result: 'leased_elsewhere' }
        : { result: 'not_found' };
    }
    try {
      // Read after taking the lease: another replica may have refreshed the account just before.
      const account = await this.#accounts.get(id);
      if (account === undefined || account.kind !== 'oauth') return { result: 'not_found' };
      const outcome = await this.#refreshLeased(account, force);
      if (outcome.result !== 'not_due') {
        logger.info(
          {
            accountId: id,
            outcome: outcome.result,
            ...(outcome.result === 'disabled' && {
              oauthError: outcome.error.oauthError,
              status: outcome.error.status,
            }),
            ...(outcome.result === 'failed' && { err: errorSummary(outcome.error) }),
          },
          'OAuth account refresh',
        );
      }
      return outcome;
    } catch (err) {
      logger.error({ accountId: id, err: errorSummary(err) }, 'OAuth account refresh failed unexpectedly');
      return { result: 'failed', error: err instanceof Error ? err : new Error(String(err)) };
    } finally {
      // A no-op when storeTokens already ended the lease.
      await this.#accounts.releaseLease(id, this.owner).catch((err: unknown) => {
        logger.warn({ accountId: id, err: errorSummary(err) }, 'could not release the OAuth refresh lease');
      });
    }
  }

  async #refreshLeased(account: StoredAccount, force: boolean): Promise<RefreshOutcome> {
    const { secretBox, tokens, now } = this.#opts;
    const profile = oauthProfile(account.oauthProfile ?? '');
    if (profile === undefined) {
      const description = `the account's profile '${account.oauthProfile ?? ''}' is not known`;
      const error = new OAuthTokenError(description, {
        status: null,
        oauthError: 'unknown_profile',
        description,
      });
      return this.#disable(account, error);
    }
    const due = account.tokenExpiresAt !== null && account.tokenExpiresAt < now() + profile.refreshMarginMs;
    if (!force && (!account.enabled || !due)) return { result: 'not_due' };

    let credential;
    try {
      credential = decodeOAuthCredential(secretBox.decrypt(account.credential));
    } catch {
      credential = undefined;
    }
    if (credential === undefined || credential.refresh_token === '') {
      return { result: 'failed', error: new Error('the credential does not decrypt to OAuth tokens') };
    }
    const envelope = await this.#accounts.proxyUrlEnvelope(account.proxyId);
    if (envelope === undefined) {
      return {
        result: 'failed',
        error: new Error(`the account's proxy ${account.proxyId} is missing or disabled`),
      };
    }
    const proxyUrl = envelope === null ? null : secretBox.decrypt(envelope);
    const config = parseOAuthConfig(account.oauthConfig, profile);
    try {
      const fresh = await tokens.requestTokens(
        refreshRequest(profile, config, credential.refresh_token, proxyUrl, (sealed) =>
          secretBox.decrypt(sealed),
        ),
      );
      const at = now();
      await this.#accounts.storeTokens(
        account.id,
        secretBox.encrypt(
          encodeOAuthCredential({
            access_token: fresh.accessToken,
            // Endpoints that do not rotate refresh tokens (Google) send none back: the old one stays.
            refresh_token: fresh.refreshToken ?? credential.refresh_token,
          }),
        ),
        tokenExpiry(fresh, at),
        at,
      );
      const stored = await this.#accounts.get(account.id);
      return stored === undefined ? { result: 'not_found' } : { result: 'refreshed', account: stored };
    } catch (err) {
      if (err instanceof OAuthTokenError && err.permanent) return this.#disable(account, err);
      return { result: 'failed', error: err instanceof Error ? err : new Error(String(err)) };
    }
  }

  async #disable(account: StoredAccount, error: OAuthTokenError): Promise<RefreshOutcome> {
    const reason = `OAuth refresh failed: ${oauthFailure(error)}`;
    await disableAccountAutomatically(this.#opts.db, account.id, reason, this.#opts.now());
    return { result: 'disabled', reason, error };
  }
}

/** `invalid_grant (HTTP 400): description`: what the endpoint said, never a token. */
export function oauthFailure(error: OAuthTokenError): string {
  const status = error.status === null ? '' : ` (HTTP ${error.status})`;
  return `${error.oauthError}${status}${error.description === '' ? '' : `: ${error.description}`}`;
}

/** Only the message: the errors here never carry a secret, but keep the log line small. */
function errorSummary(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
