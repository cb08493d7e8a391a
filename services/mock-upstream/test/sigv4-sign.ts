import { createHash, createHmac } from 'node:crypto';

/**
 * Test helper: an AWS SigV4 signer written apart from the mock's verifier (its own encoding and
 * canonicalisation), so a request it signs checks the verifier rather than mirroring it.
 */

export interface SigningKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

function hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * Headers that sign `POST <url>` with `body` for service "bedrock": host, x-amz-date,
 * x-amz-content-sha256 (and x-amz-security-token), the path encoded once to send and once more to sign.
 */
export function signBedrockRequest(
  url: string,
  body: string,
  keys: SigningKeys,
  opts: { region?: string; date?: Date; method?: string } = {},
): Record<string, string> {
  const target = new URL(url);
  const amzDate = (opts.date ?? new Date())
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const region = opts.region ?? 'us-east-1';
  const payloadHash = hex(body);
  const headers: Record<string, string> = {
    host: target.host,
    'x-amz-content-sha256': payloadHash,
    'x-amz-date': amzDate,
  };
  if (keys.sessionToken !== undefined) headers['x-amz-security-token'] = keys.sessionToken;
  const names = Object.keys(headers).sort();
  const canonicalPath = target.pathname.split('/').map(encodeSegment).join('/');
  const canonical = [
    opts.method ?? 'POST',
    canonicalPath,
    '',
    names.map((n) => `${n}:${headers[n]}\n`).join(''),
    names.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${day}/${region}/bedrock/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${keys.secretAccessKey}`, day), region), 'bedrock'), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  const { host: _host, ...sent } = headers;
  return {
    ...sent,
    authorization: `AWS4-HMAC-SHA256 Credential=${keys.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
}
