import type { Kysely } from 'kysely';
import type { DB, OAuthStateRow } from '@switchyard/core';

/** A started authorization, waiting for its callback. */
export interface OAuthState {
  state: string;
  profile: string;
  channelId: number;
  accountName: string;
  /** SecretBox envelope of the PKCE code verifier. */
  codeVerifier: string;
  redirectUri: string;
  /** The resolved non-secret OAuth settings (OAuthConfig), as stored. */
  oauthConfig: unknown;
  proxyId: number | null;
  expiresAt: number;
  createdAt: number;
}

/** SQL for `oauth_states`: each state is written once and read at most once. */
export class OAuthStateRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Stores a new state and drops those that expired before `now`, so abandoned flows do not pile up. */
  async create(state: OAuthState): Promise<void> {
    await this.#db.deleteFrom('oauth_states').where('expires_at', '<', state.createdAt).execute();
    await this.#db
      .insertInto('oauth_states')
      .values({
        state: state.state,
        profile: state.profile,
        channel_id: state.channelId,
        account_name: state.accountName,
        code_verifier: state.codeVerifier,
        redirect_uri: state.redirectUri,
        oauth_config: JSON.stringify(state.oauthConfig),
        proxy_id: state.proxyId,
        expires_at: state.expiresAt,
        created_at: state.createdAt,
      })
      .execute();
  }

  /**
   * Deletes the state and resolves what it held (expired or not: the caller judges), or undefined when
   * there is none. Of concurrent takes of one state only the one whose delete removed the row gets it,
   * so a state is used once even when two callbacks race.
   */
  async take(state: string): Promise<OAuthState | undefined> {
    const row = await this.#db
      .selectFrom('oauth_states')
      .selectAll()
      .where('state', '=', state)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const deleted = await this.#db.deleteFrom('oauth_states').where('state', '=', state).executeTakeFirst();
    return Number(deleted.numDeletedRows) > 0 ? toState(row) : undefined;
  }
}

function toState(row: OAuthStateRow): OAuthState {
  let config: unknown;
  try {
    config = JSON.parse(row.oauth_config);
  } catch {
    config = null;
  }
  return {
    state: row.state,
    profile: row.profile,
    channelId: Number(row.channel_id),
    accountName: row.account_name,
    codeVerifier: row.code_verifier,
    redirectUri: row.redirect_uri,
    oauthConfig: config,
    proxyId: row.proxy_id === null ? null : Number(row.proxy_id),
    expiresAt: Number(row.expires_at),
    createdAt: Number(row.created_at),
  };
}
