import { isObject } from '../../canonical/json-fields.js';
import { invalidCredential } from '../shared/errors.js';

/** The fields of a Google service-account JSON key that the token exchange needs. */
export interface ServiceAccountKey {
  clientEmail: string;
  /** PEM (PKCS#8) RSA private key. */
  privateKey: string;
  privateKeyId: string | null;
  projectId: string | null;
  tokenUri: string | null;
}

const EXPECTED = 'a Google service-account JSON key with client_email and private_key';

/** Reads a service-account JSON key. Errors name the expected form, never the key. */
export function parseServiceAccount(raw: string): ServiceAccountKey {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw invalidCredential('vertex', EXPECTED);
  }
  if (!isObject(v) || typeof v.client_email !== 'string' || typeof v.private_key !== 'string') {
    throw invalidCredential('vertex', EXPECTED);
  }
  const str = (x: unknown): string | null => (typeof x === 'string' && x !== '' ? x : null);
  return {
    clientEmail: v.client_email,
    privateKey: v.private_key,
    privateKeyId: str(v.private_key_id),
    projectId: str(v.project_id),
    tokenUri: str(v.token_uri),
  };
}
