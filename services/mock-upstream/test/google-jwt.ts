import { createSign } from 'node:crypto';

/** Test helper: JWT-bearer assertions for a service account, as a Google auth client builds them. */

export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id: string;
  token_uri: string;
}

function segment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** An RS256 assertion for `key` (iss, scope cloud-platform, aud token_uri, an hour long), claims overridable. */
export function jwtAssertion(
  key: ServiceAccountKey,
  overrides: Record<string, unknown> = {},
  opts: { privateKey?: string; header?: Record<string, unknown> } = {},
): string {
  const iat = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', kid: key.private_key_id, ...opts.header };
  const claims = {
    iss: key.client_email,
    scope: 'https://www.googleapis.com/auth/cloud-platform',
    aud: key.token_uri,
    iat,
    exp: iat + 3600,
    ...overrides,
  };
  const input = `${segment(header)}.${segment(claims)}`;
  const signature = createSign('RSA-SHA256')
    .update(input)
    .sign(opts.privateKey ?? key.private_key);
  return `${input}.${signature.toString('base64url')}`;
}

/** Posts a JWT-bearer grant to `tokenUri`. */
export function postTokenRequest(tokenUri: string, assertion: string, grantType?: string): Promise<Response> {
  return fetch(tokenUri, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: grantType ?? 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion,
    }).toString(),
  });
}

/** Exchanges a fresh assertion for an access token (throws unless the endpoint answers 200). */
export async function accessTokenFor(key: ServiceAccountKey): Promise<string> {
  const res = await postTokenRequest(key.token_uri, jwtAssertion(key));
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
