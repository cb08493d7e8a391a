import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { AuthScheme } from './api-routes.js';
import type { GoogleTokenIssuer } from './google-token-issuer.js';
import { MOCK_ACCESS_TOKEN_PREFIX } from './oauth-server.js';
import { verifySigV4 } from './sigv4-verifier.js';
import type { AwsCredentials } from './sigv4-verifier.js';
import type { WireShape } from './wire-errors.js';

/** What the instance authenticates requests against. */
export interface AuthSettings {
  requireKey: string | undefined;
  awsCredentials: AwsCredentials | undefined;
  google: GoogleTokenIssuer;
  /** The mock's OAuth server: Anthropic and Gemini routes accept its live access tokens as bearer. */
  oauth: { isValidAccessToken(token: string): boolean };
}

/** Accepted (with the verified AWS access key id for SigV4), or the error to answer. */
export type AuthOutcome =
  | { ok: true; awsAccessKeyId?: string }
  | { ok: false; status: number; shape: WireShape; message: string; headers?: OutgoingHttpHeaders };

/** AWS's message for a SigV4 signature that does not verify. */
export const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const AZURE_DENIED =
  'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.';
const GOOGLE_UNAUTHENTICATED =
  'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

function bearerToken(headers: IncomingHttpHeaders): string | null {
  const auth = header(headers, 'authorization');
  if (auth === undefined || auth.slice(0, 7).toLowerCase() !== 'bearer ') return null;
  return auth.slice(7).trim();
}

/**
 * The credential a request presents, however its API carries it (`Authorization: Bearer`, `x-api-key`,
 * `api-key`, `x-goog-api-key`, `?key=`), for faults keyed by credential; null when it presents none.
 * Bedrock's SigV4 requests are keyed by their access key id.
 */
export function presentedCredential(headers: IncomingHttpHeaders, query: URLSearchParams): string | null {
  const sigv4 = /Credential=([^/]+)\//.exec(header(headers, 'authorization') ?? '');
  if (sigv4 !== null) return sigv4[1]!;
  return (
    bearerToken(headers) ??
    header(headers, 'x-api-key') ??
    header(headers, 'api-key') ??
    header(headers, 'x-goog-api-key') ??
    query.get('key')
  );
}

function keyMatches(headers: IncomingHttpHeaders, key: string): boolean {
  return bearerToken(headers) === key || header(headers, 'x-api-key') === key;
}

/**
 * An OAuth request to an Anthropic or Gemini route: a bearer token shaped like the mock OAuth server's
 * access tokens (`mock-oat-…`) and none of the route's API-key fields. It passes only while the token
 * is live. Other bearer values are API keys, checked as before (any key when there is no `requireKey`).
 */
function oauthBearer(
  headers: IncomingHttpHeaders,
  query: URLSearchParams,
  scheme: 'key' | 'gemini',
): string | null {
  const token = bearerToken(headers);
  if (token === null || !token.startsWith(MOCK_ACCESS_TOKEN_PREFIX)) return null;
  const apiKey =
    scheme === 'key'
      ? header(headers, 'x-api-key')
      : (header(headers, 'x-goog-api-key') ?? query.get('key') ?? undefined);
  return apiKey === undefined ? token : null;
}

function fail(status: number, shape: WireShape, message: string, headers?: OutgoingHttpHeaders): AuthOutcome {
  return { ok: false, status, shape, message, headers };
}

function checkAws(req: IncomingMessage, body: Buffer, credentials: AwsCredentials): AuthOutcome {
  const result = verifySigV4(
    { method: req.method ?? 'GET', url: req.url ?? '/', rawHeaders: req.rawHeaders, body },
    credentials,
    'bedrock',
  );
  if (result.ok) return { ok: true, awsAccessKeyId: result.accessKeyId };
  // Like AWS, show what the signature should have covered, so a signer bug is visible in the answer.
  const detail =
    result.canonicalRequest !== undefined
      ? `\n\nThe Canonical String for this request should have been\n'${result.canonicalRequest}'\n\nThe String-to-Sign should have been\n'${result.stringToSign ?? ''}'\n`
      : ` (${result.reason})`;
  return fail(403, 'aws', SIGNATURE_MISMATCH + detail, { 'x-amzn-errortype': 'InvalidSignatureException' });
}

/** Checks a request's credentials by its route's scheme (`key` routes of `shape` answer in it). */
export function authenticate(
  scheme: AuthScheme,
  shape: WireShape,
  req: IncomingMessage,
  query: URLSearchParams,
  body: Buffer,
  settings: AuthSettings,
): AuthOutcome {
  const { requireKey } = settings;
  const headers = req.headers;
  switch (scheme) {
    case 'key': {
      const oauth = shape === 'anthropic' ? oauthBearer(headers, query, 'key') : null;
      if (oauth !== null) {
        if (oauth === requireKey || settings.oauth.isValidAccessToken(oauth)) return { ok: true };
        return fail(401, 'anthropic', 'OAuth token has expired or is invalid.');
      }
      if (requireKey === undefined || keyMatches(headers, requireKey)) return { ok: true };
      return fail(401, shape, shape === 'anthropic' ? 'invalid x-api-key' : 'Incorrect API key provided.');
    }
    case 'azure':
      if (requireKey === undefined || header(headers, 'api-key') === requireKey) return { ok: true };
      return fail(401, 'openai', AZURE_DENIED);
    case 'gemini': {
      const oauth = oauthBearer(headers, query, 'gemini');
      if (oauth !== null) {
        return settings.oauth.isValidAccessToken(oauth)
          ? { ok: true }
          : fail(401, 'google', GOOGLE_UNAUTHENTICATED);
      }
      if (requireKey === undefined) return { ok: true };
      const key = header(headers, 'x-goog-api-key') ?? query.get('key') ?? undefined;
      if (key === requireKey) return { ok: true };
      // Google answers a wrong key with 400 API_KEY_INVALID and a missing one with 403.
      if (key === undefined) {
        return fail(
          403,
          'google',
          "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        );
      }
      return fail(400, 'google', 'API key not valid. Please pass a valid API key.');
    }
    case 'vertex': {
      const token = bearerToken(headers);
      if (token !== null && settings.google.accepts(token)) return { ok: true };
      return fail(401, 'google', GOOGLE_UNAUTHENTICATED);
    }
    case 'aws':
      return settings.awsCredentials === undefined
        ? { ok: true }
        : checkAws(req, body, settings.awsCredentials);
  }
}
