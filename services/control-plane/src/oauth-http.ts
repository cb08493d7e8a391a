import { request, type Dispatcher } from 'undici';
import type { DispatcherFor } from './upstream-policy.js';

/** One call to an OAuth token endpoint (RFC 6749 §4.1.3 code exchange or §6 refresh). */
export interface TokenRequest {
  /** The token endpoint. */
  url: string;
  /** How the endpoint takes its parameters: JSON (Anthropic) or a urlencoded form (RFC 6749, Google). */
  format: 'json' | 'form';
  /** The parameters; they include secrets (code verifier, refresh token), never logged. */
  params: Record<string, string>;
  /** The account's outbound proxy URL (credentials included), or null for a direct connection. */
  proxyUrl: string | null;
}

/** A successful token response (RFC 6749 §5.1). */
export interface TokenSet {
  accessToken: string;
  /** null when the endpoint sent none (refresh tokens that do not rotate): keep the old one. */
  refreshToken: string | null;
  /** Seconds the access token lives, or null when the endpoint did not say. */
  expiresIn: number | null;
  /** The granted scopes, space-separated, when the endpoint said. */
  scope: string | null;
}

/**
 * A token endpoint call that failed. `permanent` failures (HTTP 400 or 401, or an `invalid_grant`
 * error) mean the grant itself is dead; the others (network, timeouts, 5xx, 429, garbled answers) may
 * pass on retry. The message never holds a token, a code or a verifier.
 */
export class OAuthTokenError extends Error {
  /** The endpoint's HTTP status, or null when no answer came. */
  readonly status: number | null;
  /** The endpoint's OAuth `error` code (`invalid_grant`, ...), or `network_error` / `invalid_token_response`. */
  readonly oauthError: string;
  /** The endpoint's `error_description`, secrets scrubbed and cut short; '' when it sent none. */
  readonly description: string;
  readonly permanent: boolean;

  constructor(
    message: string,
    opts: { status: number | null; oauthError: string; description?: string; cause?: unknown },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'OAuthTokenError';
    this.status = opts.status;
    this.oauthError = opts.oauthError;
    this.description = opts.description ?? '';
    this.permanent = opts.oauthError === 'invalid_grant' || opts.status === 400 || opts.status === 401;
  }
}

/** The port the OAuth flow and the refresher call token endpoints through; tests may pass a fake. */
export interface OAuthTokenClient {
  /** Resolves the token set, or rejects with an OAuthTokenError. */
  requestTokens(req: TokenRequest, signal?: AbortSignal): Promise<TokenSet>;
}

/** Why 15 s: a token endpoint answers in well under a second; far shorter than the 60 s refresh lease. */
const TOKEN_TIMEOUT_MS = 15_000;
/** Why 64 KiB: a token response is a few hundred bytes; anything larger is not one. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** Why 200: enough for an endpoint's error_description, short enough for a log line. */
const MAX_DESCRIPTION_CHARS = 200;
/** Parameters shorter than this are not secrets worth scrubbing (grant_type, a client id's tail). */
const MIN_SCRUBBED_LENGTH = 8;

/**
 * Calls token endpoints over undici, through the dispatcher the control plane uses for the account's
 * proxy (which also applies the upstream address policy at connect time).
 */
export class HttpOAuthTokenClient implements OAuthTokenClient {
  readonly #dispatcherFor: DispatcherFor;
  readonly #timeoutMs: number;

  constructor(opts: { dispatcherFor: DispatcherFor; timeoutMs?: number }) {
    this.#dispatcherFor = opts.dispatcherFor;
    this.#timeoutMs = opts.timeoutMs ?? TOKEN_TIMEOUT_MS;
  }

  async requestTokens(req: TokenRequest, signal?: AbortSignal): Promise<TokenSet> {
    const body =
      req.format === 'json' ? JSON.stringify(req.params) : new URLSearchParams(req.params).toString();
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(req.url, {
        method: 'POST',
        headers: {
          'content-type': req.format === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body,
        dispatcher: this.#dispatcherFor(req.proxyUrl),
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
    } catch (err) {
      throw new OAuthTokenError(`The token endpoint could not be reached (${errorName(err)}).`, {
        status: null,
        oauthError: 'network_error',
        cause: err,
      });
    }
    const text = await readCapped(res.body);
    return parseTokenResponse(res.statusCode, text, Object.values(req.params));
  }
}

/**
 * The token set of an endpoint's answer, or the OAuthTokenError it means. `secrets` (the request's
 * parameter values) are scrubbed from any error description the endpoint echoes.
 */
export function parseTokenResponse(status: number, text: string, secrets: readonly string[]): TokenSet {
  const json = parseObject(text);
  if (status < 200 || status >= 300) {
    const code =
      typeof json?.error === 'string' && /^[\w.-]{1,64}$/.test(json.error) ? json.error : `http_${status}`;
    const description =
      typeof json?.error_description === 'string' ? scrub(json.error_description, secrets) : '';
    throw new OAuthTokenError(
      `The token endpoint answered HTTP ${status} ${code}${description === '' ? '' : `: ${description}`}`,
      { status, oauthError: code, description },
    );
  }
  const access = json?.access_token;
  if (json === undefined || typeof access !== 'string' || access === '') {
    throw new OAuthTokenError('The token endpoint answered without an access_token.', {
      status,
      oauthError: 'invalid_token_response',
    });
  }
  const expiresIn = Number(json.expires_in);
  return {
    accessToken: access,
    refreshToken:
      typeof json.refresh_token === 'string' && json.refresh_token !== '' ? json.refresh_token : null,
    expiresIn: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : null,
    scope: typeof json.scope === 'string' ? json.scope : null,
  };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function scrub(description: string, secrets: readonly string[]): string {
  let text = description;
  for (const secret of secrets) {
    if (secret.length >= MIN_SCRUBBED_LENGTH) text = text.split(secret).join('***');
  }
  return text.length > MAX_DESCRIPTION_CHARS ? `${text.slice(0, MAX_DESCRIPTION_CHARS)}…` : text;
}

/** The class of a transport failure, never its message (undici's messages may quote the URL). */
function errorName(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? code : err.name;
  }
  return 'unknown error';
}

/** Reads a body up to MAX_RESPONSE_BYTES; a longer one is cut off there (it fails parsing then). */
async function readCapped(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      chunks.push(buf);
      size += buf.length;
      if (size >= MAX_RESPONSE_BYTES) break;
    }
  } catch {
    // A body cut off mid-way reads as what arrived; parsing decides what it is worth.
  } finally {
    if (size >= MAX_RESPONSE_BYTES) body.destroy();
  }
  return Buffer.concat(chunks).toString('utf8');
}
