import { isObject } from '../../canonical/json-fields.js';
import { invalidCredential } from '../shared/errors.js';
import type { AwsCredentials } from './sigv4.js';

const EXPECTED =
  'ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN] or JSON {access_key_id, secret_access_key, session_token?}';

/**
 * Reads an account's AWS credential: `ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]`, or that as
 * JSON `{access_key_id, secret_access_key, session_token?}`. Errors never quote the credential.
 */
export function parseAwsCredentials(raw: string): AwsCredentials {
  const s = raw.trim();
  if (s.startsWith('{')) {
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch {
      throw invalidCredential('bedrock', EXPECTED);
    }
    if (!isObject(v)) throw invalidCredential('bedrock', EXPECTED);
    const id = v.access_key_id;
    const secret = v.secret_access_key;
    const token = v.session_token ?? null;
    if (!nonEmpty(id) || !nonEmpty(secret) || (token !== null && typeof token !== 'string')) {
      throw invalidCredential('bedrock', EXPECTED);
    }
    return { accessKeyId: id, secretAccessKey: secret, sessionToken: token === '' ? null : token };
  }
  const first = s.indexOf(':');
  const second = first === -1 ? -1 : s.indexOf(':', first + 1);
  const id = first === -1 ? '' : s.slice(0, first);
  const secret = first === -1 ? '' : s.slice(first + 1, second === -1 ? undefined : second);
  // Session tokens are base64 and have no ':', but everything after the second ':' is the token anyway.
  const token = second === -1 ? '' : s.slice(second + 1);
  if (!nonEmpty(id) || !nonEmpty(secret)) throw invalidCredential('bedrock', EXPECTED);
  return { accessKeyId: id, secretAccessKey: secret, sessionToken: token === '' ? null : token };
}

function nonEmpty(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}
