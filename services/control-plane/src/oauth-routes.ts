import type { Router } from 'express';
import {
  GatewayError,
  InvalidRequestError,
  NotFoundError,
  OAUTH_PROFILES,
  oauthProfile,
  type OAuthProfile,
} from '@switchyard/core';
import type { AdminContext } from './admin-context.js';
import { parseInput } from './admin-errors.js';
import { toAccountView, type AccountView } from './account-view.js';
import type { StoredAccount } from './channel-repository.js';
import { readAccountHealth } from './health-view.js';
import { toIso } from './iso-time.js';
import type { OAuthAccountRepository } from './oauth-account-repository.js';
import { encodeOAuthCredential } from './oauth-credential.js';
import {
  authorizationUrl,
  codeExchangeRequest,
  createPkcePair,
  createState,
  parseCallback,
  parseOAuthConfig,
  resolveOAuthConfig,
  tokenExpiry,
} from './oauth-flow.js';
import { OAuthTokenError, type OAuthTokenClient, type TokenSet } from './oauth-http.js';
import { checkOAuthUrls, oauthCallbackInput, oauthStartInput } from './oauth-input.js';
import { oauthFailure, type OAuthRefresher } from './oauth-refresher.js';
import type { OAuthStateRepository } from './oauth-state-repository.js';
import { parsePathId } from './path-id.js';

/** Why 10 minutes: long enough to sign in in a browser and paste the result back, short for a secret. */
const STATE_TTL_MS = 10 * 60_000;

/** What the OAuth routes need besides the rest of the AdminContext (its `oauth`). */
export interface OAuthContext {
  states: OAuthStateRepository;
  accounts: OAuthAccountRepository;
  tokens: OAuthTokenClient;
  refresher: OAuthRefresher;
}

/** Body of the start response. */
export interface OAuthStartView {
  /** Open this in a browser to sign the account in. */
  authorization_url: string;
  state: string;
  expires_at: string;
}

function unknownProfile(id: string): InvalidRequestError {
  return new InvalidRequestError(
    `Unknown OAuth profile '${id}'; known: ${Object.keys(OAUTH_PROFILES).join(', ')}.`,
    { code: 'unknown_oauth_profile', param: 'profile' },
  );
}

function providerMismatch(profile: OAuthProfile, channelId: number, provider: string): InvalidRequestError {
  return new InvalidRequestError(
    `Profile '${profile.id}' signs in ${profile.providers.join(' or ')} accounts; channel ${channelId} is ${provider}.`,
    { code: 'provider_mismatch', param: 'channel_id' },
  );
}

function unknownChannel(id: number): InvalidRequestError {
  return new InvalidRequestError(`Channel ${id} does not exist.`, {
    code: 'channel_not_found',
    param: 'channel_id',
  });
}

function accountNotFound(raw: unknown): NotFoundError {
  return new NotFoundError(`Account '${String(raw)}' does not exist.`, 'account_not_found', 'id');
}

/** A token endpoint failure as the admin sees it: 502 with the endpoint's own error code. */
function tokenEndpointError(what: string, err: OAuthTokenError, suffix = ''): GatewayError {
  return new GatewayError(`The token endpoint refused ${what}: ${oauthFailure(err)}${suffix}`, {
    code: err.oauthError,
    status: 502,
    type: 'api_error',
    cause: err,
  });
}

async function accountView(ctx: AdminContext, account: StoredAccount): Promise<AccountView> {
  const [health] = await readAccountHealth(ctx.coordination, [account], ctx.now(), ctx.logger);
  if (health === undefined) throw new Error('readAccountHealth returned no entry');
  return toAccountView(account, health);
}

/** The plaintext proxy URL for a token call; a missing or disabled proxy refuses rather than going direct. */
async function proxyUrlFor(
  ctx: AdminContext,
  oauth: OAuthContext,
  proxyId: number | null,
): Promise<string | null> {
  const envelope = await oauth.accounts.proxyUrlEnvelope(proxyId);
  if (envelope === undefined) {
    throw new InvalidRequestError(`Proxy ${String(proxyId)} is missing or disabled.`, {
      code: 'proxy_unavailable',
      param: 'proxy_id',
    });
  }
  return envelope === null ? null : ctx.secretBox.decrypt(envelope);
}

/**
 * OAuth accounts: the authorization-code flow with PKCE (`/accounts/oauth/start`, then
 * `/accounts/oauth/callback` with what the provider redirected to) and a forced refresh. Tokens are
 * stored encrypted and never appear in a response or a log line; the code verifier neither.
 */
export function registerOAuthRoutes(router: Router, ctx: AdminContext): void {
  const oauth = ctx.oauth;
  router.post('/accounts/oauth/start', async (req, res) => {
    const input = parseInput(oauthStartInput, req.body, 'body');
    const profile = oauthProfile(input.profile);
    if (profile === undefined) throw unknownProfile(input.profile);
    checkOAuthUrls(input, ctx.upstreamPolicy);
    const channel = await ctx.channels.get(input.channel_id);
    if (channel === undefined) throw unknownChannel(input.channel_id);
    if (!profile.providers.includes(channel.provider)) {
      throw providerMismatch(profile, channel.id, channel.provider);
    }
    // Chosen now, so the code exchange already goes out through the account's proxy.
    const proxyId = await oauth.accounts.chooseProxy(input.proxy_id ?? null);
    const config = resolveOAuthConfig(profile, {
      authorizeUrl: input.authorize_url,
      tokenUrl: input.token_url,
      clientId: input.client_id,
      redirectUri: input.redirect_uri,
      clientSecretSealed:
        input.client_secret === undefined ? undefined : ctx.secretBox.encrypt(input.client_secret),
    });
    const { verifier, challenge } = createPkcePair();
    const state = createState();
    const now = ctx.now();
    const expiresAt = now + STATE_TTL_MS;
    await oauth.states.create({
      state,
      profile: profile.id,
      channelId: channel.id,
      accountName: input.name ?? `${profile.id}-${channel.accounts.length + 1}`,
      codeVerifier: ctx.secretBox.encrypt(verifier),
      redirectUri: config.redirect_uri,
      oauthConfig: config,
      proxyId,
      expiresAt,
      createdAt: now,
    });
    ctx.logger.info({ channelId: channel.id, profile: profile.id }, 'OAuth authorization started');
    const view: OAuthStartView = {
      authorization_url: authorizationUrl(profile, config, state, challenge),
      state,
      expires_at: toIso(expiresAt),
    };
    res.json(view);
  });

  router.post('/accounts/oauth/callback', async (req, res) => {
    const input = parseInput(oauthCallbackInput, req.body, 'body');
    const grant = parseCallback(input);
    // Taken (deleted) before anything else: a state works once, even when what follows fails.
    const pending = await oauth.states.take(grant.state);
    const now = ctx.now();
    const profile = pending === undefined ? undefined : oauthProfile(pending.profile);
    if (pending === undefined || pending.expiresAt <= now || profile === undefined) {
      throw new InvalidRequestError('Unknown, used or expired OAuth state; start the authorization again.', {
        code: 'invalid_oauth_state',
        param: 'state',
      });
    }
    const config = parseOAuthConfig(pending.oauthConfig, profile);
    let tokens: TokenSet;
    try {
      tokens = await oauth.tokens.requestTokens(
        codeExchangeRequest(
          profile,
          config,
          {
            code: grant.code,
            verifier: ctx.secretBox.decrypt(pending.codeVerifier),
            state: grant.state,
            proxyUrl: await proxyUrlFor(ctx, oauth, pending.proxyId),
          },
          (sealed) => ctx.secretBox.decrypt(sealed),
        ),
      );
    } catch (err) {
      if (err instanceof OAuthTokenError) throw tokenEndpointError('the authorization code', err);
      throw err;
    }
    const refreshToken = tokens.refreshToken;
    if (refreshToken === null) {
      throw new GatewayError(
        'The token endpoint issued no refresh token, so the account could not be kept fresh.',
        {
          code: 'missing_refresh_token',
          status: 502,
          type: 'api_error',
        },
      );
    }
    const account = await ctx.accounts.create(
      pending.channelId,
      (channel) => {
        if (!profile.providers.includes(channel.provider))
          throw providerMismatch(profile, channel.id, channel.provider);
        return {
          name: pending.accountName,
          credential: ctx.secretBox.encrypt(
            encodeOAuthCredential({ access_token: tokens.accessToken, refresh_token: refreshToken }),
          ),
          enabled: true,
          proxy: pending.proxyId,
          kind: 'oauth',
          oauthProfile: profile.id,
          oauthConfig: { ...config },
          tokenExpiresAt: tokenExpiry(tokens, now),
        };
      },
      now,
    );
    if (account === undefined) throw unknownChannel(pending.channelId);
    await ctx.publish();
    ctx.logger.info(
      { accountId: account.id, channelId: account.channelId, profile: profile.id },
      'OAuth account created',
    );
    res.status(201).json(await accountView(ctx, account));
  });

  router.post('/accounts/:id/oauth/refresh', async (req, res) => {
    const id = parsePathId(req.params.id);
    const current = id === undefined ? undefined : await ctx.accounts.get(id);
    if (id === undefined || current === undefined) throw accountNotFound(req.params.id);
    if (current.kind !== 'oauth') {
      throw new InvalidRequestError(`Account ${id} is not an OAuth account.`, {
        code: 'not_oauth_account',
        param: 'id',
      });
    }
    const outcome = await oauth.refresher.refreshAccount(id, { force: true });
    switch (outcome.result) {
      case 'refreshed':
        res.json(await accountView(ctx, outcome.account));
        return;
      case 'not_due':
        res.json(await accountView(ctx, current));
        return;
      case 'not_found':
        throw accountNotFound(req.params.id);
      case 'leased_elsewhere':
        throw new GatewayError(`Account ${id} is being refreshed right now; try again in a minute.`, {
          code: 'refresh_in_progress',
          status: 409,
          type: 'invalid_request_error',
        });
      case 'disabled':
        throw tokenEndpointError('the refresh', outcome.error, '; the account was disabled.');
      case 'failed':
        if (outcome.error instanceof OAuthTokenError) throw tokenEndpointError('the refresh', outcome.error);
        throw new GatewayError(`The refresh failed: ${outcome.error.message}.`, {
          code: 'oauth_refresh_failed',
          status: 502,
          type: 'api_error',
        });
    }
  });
}
