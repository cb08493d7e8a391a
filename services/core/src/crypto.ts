import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Prefix of every client key Switchyard issues, so leaked keys are recognisable in scanners. */
export const CLIENT_KEY_PREFIX = 'sk-sy-';

/** Hex SHA-256 of a client key: the only form in which keys are stored. */
export function hashKey(plaintext: string): string {
  return createHash('sha256').update(plaintext).digest('hex');
}

/** A new client key: prefix + 32 random bytes in base64url (256 bits of entropy). */
export function generateClientKey(): string {
  return CLIENT_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** A new random token for admin use. */
export function generateToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Compares two strings in time independent of where they differ (lengths are hashed first). */
export function timingSafeEqualString(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** Parses a 256-bit key given as 64 hex characters or 43/44 base64(url) characters. */
export function parseSecretKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) {
    throw new Error('secret key must be 32 bytes, given as 64 hex characters or base64');
  }
  return key;
}

const VERSION = 'v1';

/**
 * AES-256-GCM envelope for credentials at rest: `v1.<iv>.<tag>.<ciphertext>` in base64url.
 * A fresh 96-bit IV per encryption, as GCM requires.
 */
export class SecretBox {
  readonly #key: Buffer;
  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox needs a 32-byte key');
    this.#key = key;
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      VERSION,
      iv.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
      ct.toString('base64url'),
    ].join('.');
  }

  decrypt(envelope: string): string {
    const [version, iv, tag, ct] = envelope.split('.');
    if (version !== VERSION || iv === undefined || tag === undefined || ct === undefined) {
      throw new Error('not a SecretBox envelope');
    }
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  }
}
