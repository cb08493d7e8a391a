import type { IncomingHttpHeaders } from 'node:http';
import {
  AuthenticationError,
  PermissionDeniedError,
  hashKey,
  type ConfigSnapshot,
  type KeyRecord,
  type UserRecord,
} from '@switchyard/core';
import { AddressSet } from './client-address.js';

/** A key that passed verification, with its owner (null for a key of no user). */
export interface Caller {
  key: KeyRecord;
  user: UserRecord | null;
}

/**
 * Verifies client keys against the snapshot's key records. Keys are looked up by their SHA-256: the
 * lookup compares digests, never the plaintext, so its timing tells an attacker nothing about a valid
 * key (to learn a digest's prefix they would need SHA-256 preimages). Every new snapshot replaces the
 * tables at once, so a revoked key is refused as soon as the relay has the snapshot that revoked it.
 */
export class KeyAuthenticator {
  #byHash = new Map<string, KeyRecord>();
  #users = new Map<number, UserRecord>();
  #allowlists = new Map<number, AddressSet>();

  update(snapshot: ConfigSnapshot): void {
    const next = new Map<string, KeyRecord>();
    const allow = new Map<number, AddressSet>();
    for (const k of snapshot.keys) {
      next.set(k.keyHash, k);
      if (k.ipAllowlist !== null) allow.set(k.id, new AddressSet(k.ipAllowlist));
    }
    const users = new Map<number, UserRecord>();
    for (const u of snapshot.users) users.set(u.id, u);
    this.#byHash = next;
    this.#users = users;
    this.#allowlists = allow;
  }

  /**
   * Returns the key presented as `Authorization: Bearer`, `x-api-key` (Anthropic clients),
   * `x-goog-api-key` or, where the route allows it, the `key` query parameter (Gemini clients), with
   * its user, or throws: 401 for a missing, unknown, disabled or expired key (or a disabled user), 403
   * for a client address outside the key's allow-list.
   */
  authenticate(
    headers: IncomingHttpHeaders,
    now: number,
    queryKey: string | null = null,
    address: string | null = null,
  ): Caller {
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
    const user = key.userId === null ? null : (this.#users.get(key.userId) ?? null);
    if (key.userId !== null && (user === null || !user.enabled)) {
      throw new AuthenticationError("This API key's user has been disabled.", 'user_disabled');
    }
    const allow = this.#allowlists.get(key.id);
    if (allow !== undefined && (address === null || !allow.has(address))) {
      throw new PermissionDeniedError(
        `This API key may not be used from the address ${address ?? 'unknown'}.`,
        'ip_not_allowed',
      );
    }
    return { key, user };
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
