import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_KEY_PREFIX,
  SecretBox,
  generateClientKey,
  hashKey,
  parseSecretKey,
  timingSafeEqualString,
} from './crypto.js';

describe('client keys', () => {
  it('when a key is generated, then it carries the prefix and 256 random bits', () => {
    const a = generateClientKey();
    const b = generateClientKey();
    expect(a.startsWith(CLIENT_KEY_PREFIX)).toBe(true);
    expect(Buffer.from(a.slice(CLIENT_KEY_PREFIX.length), 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
  });
  it('when a key is hashed, then the hash is its hex SHA-256 and differs per key', () => {
    const k = 'sk-sy-example';
    expect(hashKey(k)).toBe(createHash('sha256').update(k).digest('hex'));
    expect(hashKey(k)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashKey(`${k}x`)).not.toBe(hashKey(k));
  });
  it('when strings are compared timing-safely, then equality is exact even for different lengths', () => {
    expect(timingSafeEqualString('abc', 'abc')).toBe(true);
    expect(timingSafeEqualString('abc', 'abd')).toBe(false);
    expect(timingSafeEqualString('abc', 'abcd')).toBe(false);
  });
});

describe('SecretBox', () => {
  const key = Buffer.alloc(32, 7);
  it('when a secret is sealed, then only the same key opens it and the text is not visible', () => {
    const box = new SecretBox(key);
    const sealed = box.encrypt('sk-upstream-secret');
    expect(sealed).not.toContain('sk-upstream-secret');
    expect(box.decrypt(sealed)).toBe('sk-upstream-secret');
    expect(box.encrypt('sk-upstream-secret')).not.toBe(sealed); // fresh IV each time
    expect(() => new SecretBox(Buffer.alloc(32, 8)).decrypt(sealed)).toThrow();
  });
  it('when the envelope is tampered with, then decryption fails', () => {
    const box = new SecretBox(key);
    const parts = box.encrypt('hello').split('.');
    parts[3] = Buffer.from('jello').toString('base64url');
    expect(() => box.decrypt(parts.join('.'))).toThrow();
  });
  it('when a secret key is parsed, then hex and base64 are accepted and other lengths refused', () => {
    expect(parseSecretKey('ab'.repeat(32))).toHaveLength(32);
    expect(parseSecretKey(Buffer.alloc(32, 1).toString('base64'))).toHaveLength(32);
    expect(() => parseSecretKey('short')).toThrow(/32 bytes/);
  });
});
