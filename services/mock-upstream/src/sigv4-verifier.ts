import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A verifier of AWS Signature Version 4 (header form, `AWS4-HMAC-SHA256`) as a non-S3 AWS service
 * checks it: it recomputes the canonical request from what was received (each path segment of the
 * raw path URI-encoded once more, the query re-encoded and sorted, the signed headers trimmed and
 * joined, the payload hash from `x-amz-content-sha256` or the body) and compares the signature.
 * Paths are not dot-segment-normalised.
 */

/** An AWS access key pair (and the session token, when the credentials are temporary). */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A received request, as the server saw it. */
export interface SignedRequest {
  method: string;
  /** The raw request target: path and query exactly as received (`req.url`). */
  url: string;
  /** Header names and values as received, flat (`req.rawHeaders`): name, value, name, value, ... */
  rawHeaders: readonly string[];
  body: Uint8Array;
}

/** Verified (with the credential scope), or why not. */
export type SigV4Result =
  | { ok: true; accessKeyId: string; region: string; service: string }
  | {
      ok: false;
      /** Why verification failed (for the error message; never contains the secret). */
      reason: string;
      /** Present once the request was complete enough to recompute them. */
      canonicalRequest?: string;
      stringToSign?: string;
    };

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The hex SHA-256 of `data`. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** RFC 3986 encoding as SigV4 wants it: everything but `A-Z a-z 0-9 - . _ ~` as %XX (upper case). */
export function uriEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decodeQueryComponent(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The canonical URI: every segment of the raw path URI-encoded again (non-S3 services). */
export function canonicalUri(rawPath: string): string {
  if (rawPath === '') return '/';
  return rawPath.split('/').map(uriEncode).join('/');
}

/** The canonical query string: each name and value decoded, re-encoded, sorted by name then value. */
export function canonicalQuery(rawQuery: string): string {
  const pairs: [string, string][] = [];
  for (const item of rawQuery.split('&')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const name = eq === -1 ? item : item.slice(0, eq);
    const value = eq === -1 ? '' : item.slice(eq + 1);
    pairs.push([uriEncode(decodeQueryComponent(name)), uriEncode(decodeQueryComponent(value))]);
  }
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

/** Header values by lower-case name; repeated headers joined with "," in order, each trimmed and folded. */
function headerValues(rawHeaders: readonly string[]): Map<string, string> {
  const values = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    const value = (rawHeaders[i + 1] ?? '').trim().replace(/\s+/g, ' ');
    const list = values.get(name);
    if (list) list.push(value);
    else values.set(name, [value]);
  }
  return new Map([...values].map(([name, list]) => [name, list.join(',')]));
}

/** The canonical request for `req` with these signed headers and payload hash; null if a signed header is absent. */
export function canonicalRequestOf(
  req: SignedRequest,
  signedHeaders: readonly string[],
  payloadHash: string,
): string | null {
  const q = req.url.indexOf('?');
  const path = q === -1 ? req.url : req.url.slice(0, q);
  const query = q === -1 ? '' : req.url.slice(q + 1);
  const headers = headerValues(req.rawHeaders);
  let canonicalHeaders = '';
  for (const name of signedHeaders) {
    const value = headers.get(name);
    if (value === undefined) return null;
    canonicalHeaders += `${name}:${value}\n`;
  }
  return [
    req.method.toUpperCase(),
    canonicalUri(path),
    canonicalQuery(query),
    canonicalHeaders,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

/** The hex signature of `stringToSign` with the key derived from the secret and the credential scope. */
export function sigV4Signature(
  secretAccessKey: string,
  scope: { date: string; region: string; service: string },
  stringToSign: string,
): string {
  const hmac = (key: string | Buffer, data: string): Buffer =>
    createHmac('sha256', key).update(data).digest();
  const dateKey = hmac(`AWS4${secretAccessKey}`, scope.date);
  const signingKey = hmac(hmac(hmac(dateKey, scope.region), scope.service), 'aws4_request');
  return createHmac('sha256', signingKey).update(stringToSign).digest('hex');
}

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(header: string): ParsedAuthorization | string {
  if (!header.startsWith(`${ALGORITHM} `)) return `the Authorization header is not ${ALGORITHM}`;
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq !== -1) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential')?.split('/') ?? [];
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  const [accessKeyId, date, region, service, terminator] = credential;
  if (
    credential.length !== 5 ||
    accessKeyId === undefined ||
    date === undefined ||
    region === undefined ||
    service === undefined ||
    terminator !== 'aws4_request'
  ) {
    return 'the Credential must be <access key id>/<date>/<region>/<service>/aws4_request';
  }
  if (signedHeaders === undefined || signedHeaders === '') return 'SignedHeaders is missing';
  if (signature === undefined || !SHA256_HEX.test(signature))
    return 'Signature is missing or not 64 hex digits';
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

/**
 * Verifies the SigV4 signature of `req` against `credentials`. `service`, when given, is the service
 * the credential scope must name (e.g. "bedrock").
 */
export function verifySigV4(req: SignedRequest, credentials: AwsCredentials, service?: string): SigV4Result {
  const headers = headerValues(req.rawHeaders);
  const authorization = headers.get('authorization');
  if (authorization === undefined) return { ok: false, reason: 'the Authorization header is missing' };
  const auth = parseAuthorization(authorization);
  if (typeof auth === 'string') return { ok: false, reason: auth };
  if (auth.accessKeyId !== credentials.accessKeyId) return { ok: false, reason: 'unknown access key id' };
  if (service !== undefined && auth.service !== service) {
    return {
      ok: false,
      reason: `the credential scope must name the service '${service}', not '${auth.service}'`,
    };
  }
  const amzDate = headers.get('x-amz-date') ?? headers.get('date');
  if (amzDate === undefined) return { ok: false, reason: 'the X-Amz-Date header is missing' };
  if (!amzDate.startsWith(auth.date))
    return { ok: false, reason: 'the credential date differs from X-Amz-Date' };
  if (!auth.signedHeaders.includes('host')) return { ok: false, reason: 'the host header must be signed' };
  if (credentials.sessionToken !== undefined) {
    if (headers.get('x-amz-security-token') !== credentials.sessionToken) {
      return { ok: false, reason: 'the X-Amz-Security-Token header is missing or wrong' };
    }
    if (!auth.signedHeaders.includes('x-amz-security-token')) {
      return { ok: false, reason: 'the X-Amz-Security-Token header must be signed' };
    }
  }
  const bodyHash = sha256Hex(req.body);
  const declaredHash = headers.get('x-amz-content-sha256');
  if (declaredHash !== undefined && SHA256_HEX.test(declaredHash) && declaredHash !== bodyHash) {
    return { ok: false, reason: 'x-amz-content-sha256 is not the hash of the body' };
  }
  const signedHeaders = [...auth.signedHeaders].sort();
  const canonicalRequest = canonicalRequestOf(req, signedHeaders, declaredHash ?? bodyHash);
  if (canonicalRequest === null) return { ok: false, reason: 'a signed header is missing from the request' };
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const expected = sigV4Signature(credentials.secretAccessKey, auth, stringToSign);
  if (!timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(auth.signature, 'hex'))) {
    return { ok: false, reason: 'the signature differs', canonicalRequest, stringToSign };
  }
  return { ok: true, accessKeyId: auth.accessKeyId, region: auth.region, service: auth.service };
}
