/**
 * What an OAuth account's `accounts.credential` envelope holds (SecretBox-encrypted JSON): the current
 * access token, which the relay presents, and the refresh token only the control plane ever uses.
 */
export interface OAuthCredential {
  access_token: string;
  refresh_token: string;
}

/** The plaintext to encrypt into `accounts.credential`. */
export function encodeOAuthCredential(credential: OAuthCredential): string {
  return JSON.stringify({ access_token: credential.access_token, refresh_token: credential.refresh_token });
}

/**
 * The tokens of a decrypted OAuth credential, or undefined when it is not such JSON (a corrupt row).
 * Never passes a parser message on: it would quote the secret.
 */
export function decodeOAuthCredential(plaintext: string): OAuthCredential | undefined {
  let value: unknown;
  try {
    value = JSON.parse(plaintext);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { access_token: access, refresh_token: refresh } = value as Record<string, unknown>;
  if (typeof access !== 'string' || access === '' || typeof refresh !== 'string') return undefined;
  return { access_token: access, refresh_token: refresh };
}
