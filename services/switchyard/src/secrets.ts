import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateToken, hashKey, parseSecretKey } from '@switchyard/core';

const SECRET_KEY_FILE = 'secret.key';
const ADMIN_TOKEN_HASH_FILE = 'admin-token.sha256';

async function readIfExists(file: string): Promise<string | null> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function writeSecretFile(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${content}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
}

/** The credential-encryption key: from config, else the data dir's, else a new one written there. */
export async function resolveSecretKey(dataDir: string, configured: string | null): Promise<Buffer> {
  if (configured !== null) return parseSecretKey(configured);
  const file = path.join(dataDir, SECRET_KEY_FILE);
  const existing = await readIfExists(file);
  if (existing !== null) return parseSecretKey(existing);
  const key = generateToken(32);
  await writeSecretFile(file, Buffer.from(key, 'base64url').toString('hex'));
  return Buffer.from(key, 'base64url');
}

/**
 * The admin token's SHA-256. A configured token wins; otherwise the hash kept in the data dir; on
 * the very first start a new token is generated, its hash stored, and the plaintext returned once.
 */
export async function resolveAdminToken(
  dataDir: string,
  configured: string | null,
): Promise<{ hash: string; generated: string | null }> {
  if (configured !== null) return { hash: hashKey(configured), generated: null };
  const file = path.join(dataDir, ADMIN_TOKEN_HASH_FILE);
  const existing = await readIfExists(file);
  if (existing !== null && /^[0-9a-f]{64}$/.test(existing)) return { hash: existing, generated: null };
  const token = `sy-admin-${generateToken(32)}`;
  await writeSecretFile(file, hashKey(token));
  return { hash: hashKey(token), generated: token };
}
