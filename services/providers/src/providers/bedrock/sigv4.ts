import { createHash, createHmac } from 'node:crypto';
import { encodeRfc3986 } from '../shared/path.js';

/** An AWS access key pair, with the session token of temporary (STS) credentials. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string | null;
}

/** The request to sign, as it will go on the wire. */
export interface SigV4Request {
  method: string;
  /** The Host header value (`host[:port]`). */
  host: string;
  /** Path and query exactly as sent (percent-encoded where the wire needs it). */
  path: string;
  /** Further headers to sign and send; host and the x-amz-* ones are added by the signer. */
  headers?: Readonly<Record<string, string>>;
  /** The exact body bytes (UTF-8 text); '' for none. */
  body: string;
}

export interface SigV4Options {
  service: string;
  region: string;
  credentials: AwsCredentials;
  /** Epoch milliseconds of the signature. */
  now: number;
  /** Add and sign `x-amz-content-sha256` (the body's hash); true unless given false. */
  contentSha256Header?: boolean;
}

export interface SigV4Result {
  /**
   * Every header to send for the signature to hold: the given ones, `host`, `x-amz-date`,
   * `x-amz-content-sha256`, `x-amz-security-token` (with a session token) and `authorization`.
   */
  headers: Record<string, string>;
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';

/**
 * AWS Signature Version 4 (header signing) for non-S3 services: the canonical URI is the normalized
 * wire path with each segment URI-encoded again, the canonical query is sorted and strictly encoded,
 * and the payload hash covers the exact body bytes.
 */
export function signSigV4(req: SigV4Request, opts: SigV4Options): SigV4Result {
  const amzDate = new Date(opts.now).toISOString().replace(/[-:]|\.\d{3}/g, '');
  const dateStamp = amzDate.slice(0, 8);
  const payloadHash = sha256Hex(req.body);

  const toSign = new Map<string, string>();
  const add = (name: string, value: string): void => {
    const key = name.toLowerCase();
    const prev = toSign.get(key);
    toSign.set(key, prev === undefined ? value : `${prev},${value}`);
  };
  for (const [name, value] of Object.entries(req.headers ?? {})) add(name, value);
  toSign.set('host', req.host);
  toSign.set('x-amz-date', amzDate);
  if (opts.contentSha256Header !== false) toSign.set('x-amz-content-sha256', payloadHash);
  if (opts.credentials.sessionToken !== null)
    toSign.set('x-amz-security-token', opts.credentials.sessionToken);

  const names = [...toSign.keys()].sort();
  const canonicalHeaders = names.map((n) => `${n}:${canonicalHeaderValue(toSign.get(n) ?? '')}\n`).join('');
  const signedHeaders = names.join(';');
  const q = req.path.indexOf('?');
  const rawPath = q === -1 ? req.path : req.path.slice(0, q);
  const rawQuery = q === -1 ? '' : req.path.slice(q + 1);
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalUri(rawPath),
    canonicalQuery(rawQuery),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');

  const scope = `${dateStamp}/${opts.region}/${opts.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const kDate = hmac(`AWS4${opts.credentials.secretAccessKey}`, dateStamp);
  const kRegion = hmac(kDate, opts.region);
  const kService = hmac(kRegion, opts.service);
  const kSigning = hmac(kService, 'aws4_request');
  const signature = hmac(kSigning, stringToSign).toString('hex');

  const headers: Record<string, string> = {};
  for (const n of names) headers[n] = toSign.get(n) ?? '';
  headers.authorization = `${ALGORITHM} Credential=${opts.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { headers, canonicalRequest, stringToSign, signature };
}

/** The wire path normalized (empty and `.` segments dropped, `..` applied) and each segment encoded again. */
export function canonicalUri(path: string): string {
  const segments: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return `/${segments.map(encodeRfc3986).join('/')}${trailing}`;
}

/** Query parameters decoded, strictly re-encoded and sorted by name, then value. */
export function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs = query
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const k = eq === -1 ? p : p.slice(0, eq);
      const v = eq === -1 ? '' : p.slice(eq + 1);
      return [encodeRfc3986(safeDecode(k)), encodeRfc3986(safeDecode(v))] as const;
    });
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function canonicalHeaderValue(v: string): string {
  return v.trim().replace(/\s+/g, ' ');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}
