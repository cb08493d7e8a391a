import { createPrivateKey } from 'node:crypto';
import type { CredentialKind } from '@switchyard/core';
import { checkBaseUrl } from './base-url-policy.js';
import { DEFAULT_UPSTREAM_POLICY, type UpstreamPolicy } from './upstream-policy.js';

/**
 * Checks an account credential against the form its provider's CredentialKind needs, so a channel
 * cannot be saved with a key its provider could never use. Returns null when it fits, else a reason
 * that never quotes the credential (nor any part of it, nor a parser message that might). URLs inside a
 * credential (a service account's token_uri) must pass the SSRF policy under `policy` (pass the admin
 * context's; the default is only the all-in-one default).
 */
export function credentialProblem(
  kind: CredentialKind,
  credential: string,
  policy: UpstreamPolicy = DEFAULT_UPSTREAM_POLICY,
): string | null {
  switch (kind) {
    case 'bearer':
    case 'azure-api-key':
    case 'anthropic-api-key':
    case 'google-api-key':
      return headerTokenProblem(credential);
    case 'aws-sigv4':
      return awsProblem(credential);
    case 'google-service-account':
      return serviceAccountProblem(credential, policy);
  }
}

/** Printable ASCII without spaces: what fits in one HTTP header value as a single token. */
const TOKEN = /^[\x21-\x7e]+$/;

function headerTokenProblem(credential: string): string | null {
  return TOKEN.test(credential) ? null : 'must be a single token without spaces or control characters';
}

const AWS_FORM =
  'must be an AWS credential: ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN], or JSON {"access_key_id","secret_access_key","session_token"?}';

/** IAM's AccessKeyId: word characters, at most 128. */
const AWS_ACCESS_KEY_ID = /^\w{1,128}$/;

const AWS_JSON_FIELDS = new Set(['access_key_id', 'secret_access_key', 'session_token']);

function awsProblem(credential: string): string | null {
  if (credential.startsWith('{')) return awsJsonProblem(credential);
  const parts = credential.split(':');
  if (parts.length < 2 || parts.length > 3) return AWS_FORM;
  const [id = '', secret = '', token] = parts;
  return awsPartsProblem(id, secret, token);
}

function awsJsonProblem(credential: string): string | null {
  const value = parseJsonObject(credential);
  if (value === undefined) return `${AWS_FORM} (the JSON does not parse as an object)`;
  if (Object.keys(value).some((k) => !AWS_JSON_FIELDS.has(k))) {
    return `${AWS_FORM} with no other fields`;
  }
  const { access_key_id: id, secret_access_key: secret, session_token: token } = value;
  if (typeof id !== 'string' || typeof secret !== 'string') {
    return `${AWS_FORM} (access_key_id and secret_access_key must be strings)`;
  }
  if (token !== undefined && token !== null && typeof token !== 'string') {
    return `${AWS_FORM} (session_token must be a string)`;
  }
  return awsPartsProblem(id, secret, token ?? undefined);
}

function awsPartsProblem(id: string, secret: string, token: string | undefined): string | null {
  if (!AWS_ACCESS_KEY_ID.test(id))
    return `${AWS_FORM} (the access key id may hold only letters, digits and _)`;
  if (!TOKEN.test(secret) || secret.includes(':'))
    return `${AWS_FORM} (the secret access key is empty or holds spaces)`;
  // An empty (or JSON null) session token means none, as the Bedrock provider reads it.
  if (token !== undefined && token !== '' && (!TOKEN.test(token) || token.includes(':'))) {
    return `${AWS_FORM} (the session token holds spaces or ':')`;
  }
  return null;
}

const SERVICE_ACCOUNT_FORM = 'must be a Google service-account JSON key';

function serviceAccountProblem(credential: string, policy: UpstreamPolicy): string | null {
  const key = parseJsonObject(credential);
  if (key === undefined) return `${SERVICE_ACCOUNT_FORM} (it does not parse as a JSON object)`;
  if (key.type !== undefined && key.type !== 'service_account') {
    return `${SERVICE_ACCOUNT_FORM} (its "type" must be "service_account")`;
  }
  if (typeof key.client_email !== 'string' || !key.client_email.includes('@')) {
    return `${SERVICE_ACCOUNT_FORM} with a "client_email"`;
  }
  if (typeof key.private_key !== 'string' || !isRsaPrivateKeyPem(key.private_key)) {
    return `${SERVICE_ACCOUNT_FORM} with a PEM RSA "private_key"`;
  }
  if (key.project_id !== undefined && typeof key.project_id !== 'string') {
    return `${SERVICE_ACCOUNT_FORM} ("project_id" must be a string)`;
  }
  if (key.token_uri !== undefined) {
    // The relay posts a signed assertion to token_uri: the same SSRF policy as a base URL applies.
    const check = typeof key.token_uri === 'string' ? checkBaseUrl(key.token_uri, policy) : undefined;
    if (check?.ok !== true) {
      return `${SERVICE_ACCOUNT_FORM} whose "token_uri" is an allowed http(s) URL${check === undefined ? '' : `: ${check.reason}`}`;
    }
  }
  return null;
}

/** The JWT bearer grant signs with RS256, so the key must be an RSA private key in PEM. */
function isRsaPrivateKeyPem(pem: string): boolean {
  if (!pem.includes('-----BEGIN')) return false;
  try {
    return createPrivateKey({ key: pem, format: 'pem' }).asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's message quotes the input: never pass it on.
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
