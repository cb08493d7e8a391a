import { generateKeyPairSync } from 'node:crypto';
import type { ProviderId } from '@switchyard/core';

/** AWS's documented example key pair (IAM user guide), in the `ID:SECRET` form. */
export const AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
export const AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
export const AWS_CREDENTIAL = `${AWS_ACCESS_KEY_ID}:${AWS_SECRET_ACCESS_KEY}`;

/** A fresh RSA key in PKCS#8 PEM, the form Google puts in a service-account key's private_key. */
export const RSA_PRIVATE_KEY_PEM = generateKeyPairSync('rsa', {
  // Why 2048: the size Google issues service-account keys with.
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
}).privateKey;

/** A service-account JSON key with Google's documented fields; override or drop (undefined) any of them. */
export function serviceAccountKey(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type: 'service_account',
    project_id: 'switchyard-test',
    private_key_id: '0123456789abcdef0123456789abcdef01234567',
    private_key: RSA_PRIVATE_KEY_PEM,
    client_email: 'relay@switchyard-test.iam.gserviceaccount.com',
    client_id: '123456789012345678901',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: 'https://oauth2.googleapis.com/token',
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    client_x509_cert_url:
      'https://www.googleapis.com/robot/v1/metadata/x509/relay%40switchyard-test.iam.gserviceaccount.com',
    universe_domain: 'googleapis.com',
    ...overrides,
  });
}

/** The base64 body of the PEM: a piece of the secret that must never appear in a response. */
export const PRIVATE_KEY_PIECE = RSA_PRIVATE_KEY_PEM.split('\n')[5] ?? '';

/** A credential of the right form for each provider's CredentialKind. */
export function credentialFor(provider: ProviderId): string {
  if (provider === 'bedrock') return AWS_CREDENTIAL;
  if (provider === 'vertex') return serviceAccountKey();
  return `sk-${provider}-secret-0123456789`;
}
