import { verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** A JWT whose RS256 signature verified: its header and claims. */
export interface VerifiedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeJson(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return isRecord(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * Decodes a compact JWT and verifies its RS256 signature with `publicKey`; a string says why it is
 * not acceptable (malformed, another algorithm, a bad signature). Claims are not checked here.
 */
export function verifyRs256Jwt(token: string, publicKey: KeyObject): VerifiedJwt | string {
  const parts = token.split('.');
  if (parts.length !== 3) return 'not a compact JWT';
  const [headerPart = '', claimsPart = '', signaturePart = ''] = parts;
  const header = decodeJson(headerPart);
  const claims = decodeJson(claimsPart);
  if (header === null || claims === null) return 'the JWT header or claims are not JSON objects';
  if (header.alg !== 'RS256') return `the JWT algorithm must be RS256, not ${String(header.alg)}`;
  const signed = Buffer.from(`${headerPart}.${claimsPart}`);
  if (!verify('RSA-SHA256', signed, publicKey, Buffer.from(signaturePart, 'base64url'))) {
    return 'the JWT signature does not verify';
  }
  return { header, claims };
}
