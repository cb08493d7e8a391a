import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { sendJson } from './send-json.js';

/** Every path of the mock OAuth server starts with this. */
export const OAUTH_PATH_PREFIX = '/oauth/';
const AUTHORIZE_PATH = '/oauth/authorize';
const TOKEN_PATH = '/oauth/token';

/** Why an hour: what Anthropic and Google issue; tests shorten it with `expiresInSeconds`. */
const DEFAULT_EXPIRES_IN_S = 3600;
/** Why 10 minutes: RFC 6749 §4.1.2 recommends at most that for an authorization code. */
const CODE_LIFETIME_MS = 10 * 60_000;
/** RFC 7636 §4.1: a code verifier is 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
/** A base64url SHA-256 digest (the S256 code challenge) has 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** Why 24 bytes: 192 random bits, unguessable, and short enough to read in a failing test. */
const TOKEN_BYTES = 24;

/** The prefix of the access tokens the mock issues, to tell them apart from API keys in tests. */
export const MOCK_ACCESS_TOKEN_PREFIX = 'mock-oat-';
/** The prefix of the refresh tokens the mock issues. */
export const MOCK_REFRESH_TOKEN_PREFIX = 'mock-ort-';

/** One `POST /oauth/token` request, as the mock saw and answered it. */
export interface OAuthTokenRequestRecord {
  /** The `grant_type` parameter ('' when missing). */
  grantType: string;
  /** Epoch milliseconds (the mock's clock) when the request arrived. */
  at: number;
  /** The refresh token presented (grant `refresh_token`), else null. */
  refreshToken: string | null;
  /** The account lineage the request belongs to (null when the code or token is unknown). */
  lineage: string | null;
  /** The `client_id` parameter, or null. */
  clientId: string | null;
  /** The HTTP status answered. */
  status: number;
  /** The OAuth `error` code answered, or null on success. */
  error: string | null;
}

/** What the token endpoint answers on success (RFC 6749 §5.1). */
export interface MockTokenSet {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: 'Bearer';
  scope: string;
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
  expiresAt: number;
}

interface RefreshTokenState {
  lineage: string;
  clientId: string;
  scope: string;
  /** Rotating tokens work once: set on first use (successful or refused by `failRefresh`, not). */
  used: boolean;
  revoked: boolean;
}

type TokenAnswer = { status: 200; body: MockTokenSet } | { status: number; body: OAuthErrorBody };

interface OAuthErrorBody {
  error: string;
  error_description: string;
}

function oauthError(status: number, error: string, description: string): TokenAnswer {
  return { status, body: { error, error_description: description } };
}

function randomToken(prefix: string): string {
  return prefix + randomBytes(TOKEN_BYTES).toString('base64url');
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return (Array.isArray(value) ? value[value.length - 1] : value) ?? '';
}

/** The token request's parameters: a JSON object (Anthropic) or a form (RFC 6749, Google). */
export function parseTokenParams(headers: IncomingHttpHeaders, raw: Buffer): Map<string, string> | null {
  const text = raw.toString('utf8');
  if (header(headers, 'content-type').toLowerCase().includes('json')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return null;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    const params = new Map<string, string>();
    for (const [k, v] of Object.entries(value)) if (typeof v === 'string') params.set(k, v);
    return params;
  }
  return new Map(new URLSearchParams(text));
}

/**
 * A fake OAuth 2.0 authorization server for PKCE clients, served by MockUpstream under `/oauth/*`:
 * `GET /oauth/authorize` (redirects straight back with a code: the "user" always consents) and
 * `POST /oauth/token` (grants `authorization_code` with S256 PKCE and rotating `refresh_token`).
 *
 * Each authorization starts a lineage (one account's chain of tokens); the mock counts how many
 * refresh requests of a lineage are in flight at once, so a test can prove that replicas never
 * refreshed the same account concurrently (slow the endpoint down with `tokenDelayMs`).
 */
export class MockOAuthServer {
  /** `expires_in` of the access tokens issued from now on. */
  expiresInSeconds = DEFAULT_EXPIRES_IN_S;
  /** When true, every refresh is refused with 400 invalid_grant (the token is not consumed). */
  failRefresh = false;
  /** Delay before the token endpoint answers, in ms (concurrency tests). */
  tokenDelayMs = 0;
  /** Every token request, in arrival order. */
  readonly tokenRequests: OAuthTokenRequestRecord[] = [];

  readonly #now: () => number;
  readonly #codes = new Map<string, PendingCode>();
  readonly #refreshTokens = new Map<string, RefreshTokenState>();
  /** Access token → its lineage and expiry (epoch ms). */
  readonly #accessTokens = new Map<string, { lineage: string; expiresAt: number }>();
  readonly #inFlight = new Map<string, number>();
  readonly #peaks = new Map<string, number>();
  #inFlightTotal = 0;
  #peakTotal = 0;
  #lineages = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The most refresh requests of one lineage ever in flight at once (0 before any refresh). */
  get maxConcurrentRefreshesPerLineage(): number {
    return Math.max(0, ...this.#peaks.values());
  }

  /** The most refresh requests of any lineages in flight at once. */
  get maxConcurrentRefreshes(): number {
    return this.#peakTotal;
  }

  /** The most refresh requests of `lineage` ever in flight at once. */
  maxConcurrentRefreshesOf(lineage: string): number {
    return this.#peaks.get(lineage) ?? 0;
  }

  /** The lineage a refresh or access token belongs to, or undefined for tokens the mock never issued. */
  lineageOf(token: string): string | undefined {
    return this.#refreshTokens.get(token)?.lineage ?? this.#accessTokens.get(token)?.lineage;
  }

  /** Revokes a refresh token: its next use answers 400 invalid_grant. */
  revoke(refreshToken: string): void {
    const state = this.#refreshTokens.get(refreshToken);
    if (state !== undefined) state.revoked = true;
  }

  /** True for an access token this server issued that has not expired (the mock's clock). */
  isValidAccessToken(token: string): boolean {
    const issued = this.#accessTokens.get(token);
    return issued !== undefined && this.#now() < issued.expiresAt;
  }

  /**
   * Tokens of a new lineage without the browser round trip, for tests that seed accounts directly.
   * `expiresInSeconds` overrides the instance setting for this set only.
   */
  issueTokens(opts: { clientId?: string; scope?: string; expiresInSeconds?: number } = {}): MockTokenSet & {
    lineage: string;
  } {
    const lineage = this.#newLineage();
    const tokens = this.#issue(
      lineage,
      opts.clientId ?? 'mock-client',
      opts.scope ?? '',
      opts.expiresInSeconds,
    );
    return { ...tokens, lineage };
  }

  /** Clears the token-request records and the concurrency peaks; issued tokens stay valid. */
  reset(): void {
    this.tokenRequests.length = 0;
    this.#peaks.clear();
    this.#peakTotal = 0;
  }

  /** Answers a request under `/oauth/` (anything but the two endpoints is a 404). */
  async handle(
    method: string | undefined,
    path: string,
    query: URLSearchParams,
    headers: IncomingHttpHeaders,
    raw: Buffer,
    res: ServerResponse,
  ): Promise<void> {
    if (path === AUTHORIZE_PATH && method === 'GET') {
      this.#authorize(query, res);
      return;
    }
    if (path === TOKEN_PATH && method === 'POST') {
      await this.#token(headers, raw, res);
      return;
    }
    sendJson(res, 404, { error: 'not_found', error_description: `No OAuth route ${method ?? '?'} ${path}.` });
  }

  #authorize(query: URLSearchParams, res: ServerResponse): void {
    for (const name of ['response_type', 'client_id', 'redirect_uri', 'state', 'code_challenge', 'scope']) {
      if ((query.get(name) ?? '') === '') {
        sendJson(res, 400, { error: 'invalid_request', error_description: `Missing parameter: ${name}` });
        return;
      }
    }
    const redirectUri = query.get('redirect_uri') ?? '';
    if (query.get('response_type') !== 'code') {
      sendJson(res, 400, {
        error: 'unsupported_response_type',
        error_description: 'response_type must be code',
      });
      return;
    }
    if (
      query.get('code_challenge_method') !== 'S256' ||
      !S256_CHALLENGE.test(query.get('code_challenge') ?? '')
    ) {
      sendJson(res, 400, {
        error: 'invalid_request',
        error_description: 'code_challenge_method must be S256 with a base64url SHA-256 code_challenge',
      });
      return;
    }
    if (!URL.canParse(redirectUri)) {
      sendJson(res, 400, {
        error: 'invalid_request',
        error_description: 'redirect_uri must be an absolute URL',
      });
      return;
    }
    const code = randomToken('mock-code-');
    this.#codes.set(code, {
      clientId: query.get('client_id') ?? '',
      redirectUri,
      challenge: query.get('code_challenge') ?? '',
      scope: query.get('scope') ?? '',
      expiresAt: this.#now() + CODE_LIFETIME_MS,
    });
    const location = new URL(redirectUri);
    location.searchParams.set('code', code);
    location.searchParams.set('state', query.get('state') ?? '');
    res.writeHead(302, { location: location.toString(), 'content-length': 0 });
    res.end();
  }

  async #token(headers: IncomingHttpHeaders, raw: Buffer, res: ServerResponse): Promise<void> {
    const params = parseTokenParams(headers, raw) ?? new Map<string, string>();
    const grantType = params.get('grant_type') ?? '';
    const refreshToken = grantType === 'refresh_token' ? (params.get('refresh_token') ?? null) : null;
    const record: OAuthTokenRequestRecord = {
      grantType,
      at: this.#now(),
      refreshToken,
      lineage: null,
      clientId: params.get('client_id') ?? null,
      status: 0,
      error: null,
    };
    this.tokenRequests.push(record);
    // Decided on arrival, so a second request with the same refresh token is refused even while the
    // first is still being answered.
    const answer =
      grantType === 'authorization_code'
        ? this.#exchangeCode(params, record)
        : grantType === 'refresh_token'
          ? this.#refresh(params, record)
          : oauthError(400, 'unsupported_grant_type', `Unsupported grant_type: ${grantType}`);
    record.status = answer.status;
    record.error = answer.status === 200 ? null : (answer.body as OAuthErrorBody).error;
    const lineage = grantType === 'refresh_token' ? record.lineage : null;
    if (lineage !== null) this.#enter(lineage);
    try {
      if (this.tokenDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.tokenDelayMs));
      sendJson(res, answer.status, answer.body, { 'cache-control': 'no-store' });
    } finally {
      if (lineage !== null) this.#leave(lineage);
    }
  }

  #exchangeCode(params: Map<string, string>, record: OAuthTokenRequestRecord): TokenAnswer {
    const code = params.get('code') ?? '';
    const pending = this.#codes.get(code);
    // Single use: a code is gone after its first exchange, successful or not.
    this.#codes.delete(code);
    if (pending === undefined || this.#now() >= pending.expiresAt) {
      return oauthError(400, 'invalid_grant', 'The authorization code is invalid, expired or already used.');
    }
    if (params.get('client_id') !== pending.clientId) {
      return oauthError(400, 'invalid_grant', 'client_id does not match the authorization request.');
    }
    if (params.get('redirect_uri') !== pending.redirectUri) {
      return oauthError(400, 'invalid_grant', 'redirect_uri does not match the authorization request.');
    }
    const verifier = params.get('code_verifier') ?? '';
    if (!CODE_VERIFIER.test(verifier) || s256(verifier) !== pending.challenge) {
      return oauthError(400, 'invalid_grant', 'code_verifier does not match the code_challenge.');
    }
    const lineage = this.#newLineage();
    record.lineage = lineage;
    return { status: 200, body: this.#issue(lineage, pending.clientId, pending.scope) };
  }

  #refresh(params: Map<string, string>, record: OAuthTokenRequestRecord): TokenAnswer {
    const token = params.get('refresh_token');
    if (token === undefined || token === '') {
      return oauthError(400, 'invalid_request', 'Missing parameter: refresh_token');
    }
    const state = this.#refreshTokens.get(token);
    if (state === undefined) return oauthError(400, 'invalid_grant', 'Unknown refresh token.');
    record.lineage = state.lineage;
    if (state.revoked) return oauthError(400, 'invalid_grant', 'The refresh token was revoked.');
    if (state.used) return oauthError(400, 'invalid_grant', 'The refresh token was already used.');
    const clientId = params.get('client_id');
    if (clientId !== undefined && clientId !== state.clientId) {
      return oauthError(400, 'invalid_grant', 'client_id does not match the refresh token.');
    }
    if (this.failRefresh) return oauthError(400, 'invalid_grant', 'mock-upstream failRefresh is set.');
    state.used = true;
    return { status: 200, body: this.#issue(state.lineage, state.clientId, state.scope) };
  }

  #newLineage(): string {
    return `lineage-${++this.#lineages}`;
  }

  #issue(lineage: string, clientId: string, scope: string, expiresInSeconds?: number): MockTokenSet {
    const expiresIn = expiresInSeconds ?? this.expiresInSeconds;
    const accessToken = randomToken(MOCK_ACCESS_TOKEN_PREFIX);
    const refreshToken = randomToken(MOCK_REFRESH_TOKEN_PREFIX);
    this.#accessTokens.set(accessToken, { lineage, expiresAt: this.#now() + expiresIn * 1000 });
    this.#refreshTokens.set(refreshToken, { lineage, clientId, scope, used: false, revoked: false });
    return {
      access_token: accessToken,
      refresh_token: refreshToken,
      expires_in: expiresIn,
      token_type: 'Bearer',
      scope,
    };
  }

  #enter(lineage: string): void {
    const now = (this.#inFlight.get(lineage) ?? 0) + 1;
    this.#inFlight.set(lineage, now);
    this.#peaks.set(lineage, Math.max(now, this.#peaks.get(lineage) ?? 0));
    this.#inFlightTotal++;
    this.#peakTotal = Math.max(this.#peakTotal, this.#inFlightTotal);
  }

  #leave(lineage: string): void {
    this.#inFlight.set(lineage, (this.#inFlight.get(lineage) ?? 1) - 1);
    this.#inFlightTotal--;
  }
}
