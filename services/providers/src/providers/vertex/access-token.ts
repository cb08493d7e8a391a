import { UpstreamError } from '@switchyard/core';
import { isObject } from '../../canonical/json-fields.js';
import type { ProviderDeps } from '../../provider-adapter.js';
import { invalidCredential } from '../shared/errors.js';
import { signJwtRs256 } from './jwt.js';
import type { ServiceAccountKey } from './service-account.js';
import type { AccessToken } from './token-cache.js';

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Why 3600 s: the longest assertion lifetime Google's token endpoint accepts. */
const ASSERTION_LIFETIME_S = 3600;
/** Why 30 s: a token exchange is one small POST; longer means the endpoint is in trouble. */
const EXCHANGE_TIMEOUT_MS = 30_000;
/** Google's access tokens last an hour; used when the answer omits `expires_in`. */
const DEFAULT_TOKEN_LIFETIME_S = 3600;

/**
 * Exchanges a service-account key for an OAuth access token (RFC 7523 JWT bearer grant): an RS256
 * assertion `{iss: client_email, scope: cloud-platform, aud: token endpoint, iat, exp}` posted to the
 * token endpoint. Any failure is a retryable UpstreamError (401, `upstream_auth_failed`) that names
 * the endpoint's status and OAuth error code, never the key or the assertion.
 */
export async function exchangeServiceAccount(
  key: ServiceAccountKey,
  tokenUrl: string,
  deps: ProviderDeps,
): Promise<AccessToken> {
  const now = deps.now();
  const iat = Math.floor(now / 1000);
  let assertion: string;
  try {
    assertion = signJwtRs256(
      { iss: key.clientEmail, scope: SCOPE, aud: tokenUrl, iat, exp: iat + ASSERTION_LIFETIME_S },
      key.privateKey,
      key.privateKeyId,
    );
  } catch {
    throw invalidCredential('vertex', 'a service-account key with a usable RSA private_key');
  }
  let res: { status: number; text: string };
  try {
    res = await deps.postForm(
      tokenUrl,
      { grant_type: JWT_BEARER_GRANT, assertion },
      AbortSignal.timeout(EXCHANGE_TIMEOUT_MS),
    );
  } catch (err) {
    throw authFailed('could not be reached', err);
  }
  const body = parseJson(res.text);
  if (res.status < 200 || res.status >= 300) {
    const code = isObject(body) && typeof body.error === 'string' ? `, ${oauthErrorCode(body.error)}` : '';
    throw authFailed(`answered HTTP ${res.status}${code}`);
  }
  if (!isObject(body) || typeof body.access_token !== 'string' || body.access_token === '') {
    throw authFailed('answered without an access_token');
  }
  const lifetime =
    typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_LIFETIME_S;
  return { token: body.access_token, expiresAt: now + lifetime * 1000 };
}

/** An OAuth `error` value is a short token such as `invalid_grant`; anything else is not echoed. */
function oauthErrorCode(v: string): string {
  return /^[a-z_]{1,64}$/.test(v) ? v : 'unrecognised error';
}

function authFailed(what: string, cause?: unknown): UpstreamError {
  return new UpstreamError(`The Vertex token endpoint ${what}; no access token for this account.`, {
    retryable: true,
    upstreamStatus: 401,
    code: 'upstream_auth_failed',
    cause,
  });
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}
