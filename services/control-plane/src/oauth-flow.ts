import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { InvalidRequestError, type OAuthProfile } from '@switchyard/core';
import type { TokenRequest, TokenSet } from './oauth-http.js';

/**
 * The non-secret OAuth settings of one account, resolved from its profile and the admin's overrides
 * when the authorization started; stored as JSON in `oauth_states.oauth_config` and then
 * `accounts.oauth_config` (snake_case, as the admin API spells it).
 */
export interface OAuthConfig {
  authorize_url: string;
  token_url: string;
  client_id: string;
  redirect_uri: string;
  scopes: string[];
  token_format: 'json' | 'form';
  /**
   * The admin's own client secret for `client_id`, as a SecretBox envelope (encrypted at rest like
   * every credential); absent when the profile's client needs none or carries its own.
   */
  client_secret_sealed?: string;
}

/** Opens a sealed client secret (the control plane's SecretBox). */
export type Unseal = (envelope: string) => string;

/** What an admin may override of a profile (self-hosted or test authorization servers). */
export interface OAuthOverrides {
  authorizeUrl?: string | undefined;
  tokenUrl?: string | undefined;
  clientId?: string | undefined;
  redirectUri?: string | undefined;
  /** The client secret, already sealed with the SecretBox. */
  clientSecretSealed?: string | undefined;
}

/** Why 32 bytes: 256 random bits, so a `state` cannot be guessed (RFC 6749 §10.10 asks for that). */
const STATE_BYTES = 32;
/**
 * Why 48 bytes: 64 base64url characters, inside RFC 7636's 43–128 and 384 random bits, above its
 * recommended 256.
 */
const VERIFIER_BYTES = 48;
/** Why 1 hour: what both profiles' providers issue; assumed when a token response leaves expires_in out. */
const DEFAULT_EXPIRES_IN_S = 3600;

/** A PKCE pair (RFC 7636): the verifier stays secret, the S256 challenge goes in the authorization URL. */
export interface PkcePair {
  verifier: string;
  challenge: string;
}

/** A new PKCE pair: a random verifier and its S256 challenge. */
export function createPkcePair(): PkcePair {
  const verifier = randomBytes(VERIFIER_BYTES).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** A new random `state`, base64url. */
export function createState(): string {
  return randomBytes(STATE_BYTES).toString('base64url');
}

/** The profile's settings with the admin's overrides applied. */
export function resolveOAuthConfig(profile: OAuthProfile, overrides: OAuthOverrides): OAuthConfig {
  return {
    authorize_url: overrides.authorizeUrl ?? profile.authorizeUrl,
    token_url: overrides.tokenUrl ?? profile.tokenUrl,
    client_id: overrides.clientId ?? profile.clientId,
    redirect_uri: overrides.redirectUri ?? profile.redirectUri,
    scopes: [...profile.scopes],
    token_format: profile.tokenRequestFormat,
    ...(overrides.clientSecretSealed !== undefined && { client_secret_sealed: overrides.clientSecretSealed }),
  };
}

const storedConfig = z.object({
  authorize_url: z.string(),
  token_url: z.string(),
  client_id: z.string(),
  redirect_uri: z.string(),
  scopes: z.array(z.string()),
  token_format: z.enum(['json', 'form']),
  client_secret_sealed: z.string(),
});

/** A stored config, or the profile's defaults for fields a row lacks (rows written by hand, older code). */
export function parseOAuthConfig(stored: unknown, profile: OAuthProfile): OAuthConfig {
  const defaults = resolveOAuthConfig(profile, {});
  const parsed = storedConfig.partial().safeParse(stored);
  if (!parsed.success) return defaults;
  const fields = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined));
  return { ...defaults, ...fields };
}

/** The URL the admin opens in a browser to sign the account in. */
export function authorizationUrl(
  profile: OAuthProfile,
  config: OAuthConfig,
  state: string,
  challenge: string,
): string {
  const url = new URL(config.authorize_url);
  // Profile parameters first (Anthropic's `code=true` leads its URL), the standard ones after.
  for (const [name, value] of Object.entries(profile.authorizeParams)) url.searchParams.set(name, value);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', config.client_id);
  url.searchParams.set('redirect_uri', config.redirect_uri);
  url.searchParams.set('scope', config.scopes.join(' '));
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return url.toString();
}

/**
 * The client secret to send: the admin's own (sealed in the config) when given, else the profile's for
 * its own client id only (an overridden client without a secret of its own sends none).
 */
function clientSecret(profile: OAuthProfile, config: OAuthConfig, unseal: Unseal): Record<string, string> {
  if (config.client_secret_sealed !== undefined)
    return { client_secret: unseal(config.client_secret_sealed) };
  return profile.clientSecret !== null && config.client_id === profile.clientId
    ? { client_secret: profile.clientSecret }
    : {};
}

/** The authorization-code exchange (RFC 6749 §4.1.3 with the PKCE verifier, RFC 7636 §4.5). */
export function codeExchangeRequest(
  profile: OAuthProfile,
  config: OAuthConfig,
  grant: { code: string; verifier: string; state: string; proxyUrl: string | null },
  unseal: Unseal,
): TokenRequest {
  return {
    url: config.token_url,
    format: config.token_format,
    params: {
      grant_type: 'authorization_code',
      code: grant.code,
      redirect_uri: config.redirect_uri,
      client_id: config.client_id,
      code_verifier: grant.verifier,
      // Anthropic's JSON endpoint wants the state echoed; form endpoints (Google) do not take it.
      ...(config.token_format === 'json' && { state: grant.state }),
      ...clientSecret(profile, config, unseal),
    },
    proxyUrl: grant.proxyUrl,
  };
}

/** A refresh (RFC 6749 §6). */
export function refreshRequest(
  profile: OAuthProfile,
  config: OAuthConfig,
  refreshToken: string,
  proxyUrl: string | null,
  unseal: Unseal,
): TokenRequest {
  return {
    url: config.token_url,
    format: config.token_format,
    params: {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: config.client_id,
      ...clientSecret(profile, config, unseal),
    },
    proxyUrl,
  };
}

/** When the access token of `tokens`, received at `now`, expires (epoch ms). */
export function tokenExpiry(tokens: TokenSet, now: number): number {
  return now + (tokens.expiresIn ?? DEFAULT_EXPIRES_IN_S) * 1000;
}

/** The `state` and `code` of a callback, however the admin handed them over. */
export interface CallbackGrant {
  state: string;
  code: string;
}

/**
 * Reads the callback: `{state, code}`, or `{callback_url}` (the URL the provider redirected the
 * browser to, or the `code#state` text Anthropic's console shows). A `code` of the form `code#state`
 * carries its state too; when both are given they must agree.
 */
export function parseCallback(input: {
  state?: string | undefined;
  code?: string | undefined;
  callback_url?: string | undefined;
}): CallbackGrant {
  if (input.callback_url !== undefined) return fromCallbackUrl(input.callback_url);
  const [code = '', embedded] = splitCodeState(input.code ?? '');
  const state = input.state ?? embedded;
  if (state === undefined || state === '') {
    throw new InvalidRequestError("'state' is required (or a code of the form code#state).", {
      param: 'state',
    });
  }
  if (embedded !== undefined && input.state !== undefined && embedded !== input.state) {
    throw new InvalidRequestError("The state after '#' in 'code' differs from 'state'.", {
      code: 'invalid_oauth_state',
      param: 'state',
    });
  }
  if (code === '') throw new InvalidRequestError("'code' is required.", { param: 'code' });
  return { state, code };
}

function splitCodeState(text: string): [string, string | undefined] {
  const hash = text.indexOf('#');
  return hash === -1 ? [text.trim(), undefined] : [text.slice(0, hash).trim(), text.slice(hash + 1).trim()];
}

function fromCallbackUrl(text: string): CallbackGrant {
  const trimmed = text.trim();
  if (!URL.canParse(trimmed)) return parseCallback({ code: trimmed });
  const url = new URL(trimmed);
  const error = url.searchParams.get('error');
  if (error !== null) {
    throw new InvalidRequestError(`The authorization was refused: ${error.slice(0, 64)}.`, {
      code: 'oauth_authorization_denied',
      param: 'callback_url',
    });
  }
  const code = url.searchParams.get('code');
  const state = url.searchParams.get('state') ?? (url.hash === '' ? null : url.hash.slice(1));
  if (code === null || code === '' || state === null || state === '') {
    throw new InvalidRequestError("'callback_url' carries no code and state.", { param: 'callback_url' });
  }
  return parseCallback({ code, state });
}
