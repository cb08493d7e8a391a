import { AuthenticationError, hashKey, type ConfigSnapshot, type KeyRecord } from '@switchyard/core';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Verifies client keys against the snapshot's key records. Keys are looked up by their SHA-256, so
 * the comparison is a hash-table lookup on a digest: it reveals nothing about the plaintext.
 */
export class KeyAuthenticator {
  #byHash = new Map<string, KeyRecord>();

  update(snapshot: ConfigSnapshot): void {
    const next = new Map<string, KeyRecord>();
    for (const k of snapshot.keys) next.set(k.keyHash, k);
    this.#byHash = next;
  }

  /**
   * Returns the key presented as `Authorization: Bearer`, `x-api-key` (Anthropic clients),
   * `x-goog-api-key` or, where the route allows it, the `key` query parameter (Gemini clients), or
   * throws a 401.
   */
  authenticate(headers: IncomingHttpHeaders, now: number, queryKey: string | null = null): KeyRecord {
    const presented = presentedKey(headers) ?? queryKey;
    if (presented === null) {
      throw new AuthenticationError(
        'You did not provide an API key. Send it as "Authorization: Bearer <key>", "x-api-key: <key>" or "x-goog-api-key: <key>".',
        'missing_api_key',
      );
    }
    const key = this.#byHash.get(hashKey(presented));
    if (key === undefined) throw new AuthenticationError();
    if (!key.enabled) throw new AuthenticationError('This API key has been disabled.', 'api_key_disabled');
    if (key.expiresAt !== null && key.expiresAt <= now) {
      throw new AuthenticationError('This API key has expired.', 'api_key_expired');
    }
    return key;
  }
}

function presentedKey(headers: IncomingHttpHeaders): string | null {
  const auth = headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m !== null) return m[1] ?? null;
  }
  for (const name of ['x-api-key', 'x-goog-api-key'] as const) {
    const x = headers[name];
    if (typeof x === 'string' && x.trim() !== '') return x.trim();
  }
  return null;
}
