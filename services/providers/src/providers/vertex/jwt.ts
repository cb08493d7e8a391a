import { sign } from 'node:crypto';

/** Signs a JWT with RS256 (RSASSA-PKCS1-v1_5 with SHA-256), as Google's JWT bearer grant requires. */
export function signJwtRs256(
  claims: Record<string, unknown>,
  privateKeyPem: string,
  keyId: string | null,
): string {
  const header = keyId === null ? { alg: 'RS256', typ: 'JWT' } : { alg: 'RS256', typ: 'JWT', kid: keyId };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(input, 'utf8'), privateKeyPem);
  return `${input}.${signature.toString('base64url')}`;
}

function base64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}
