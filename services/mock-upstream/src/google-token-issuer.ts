import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { verifyRs256Jwt } from './rs256-jwt.js';

/** The service-account key file a test hands the gateway (the fields a JWT-bearer client reads). */
export interface GoogleServiceAccount {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  /** PKCS#8 PEM. */
  private_key: string;
  client_email: string;
  client_id: string;
  token_uri: string;
}

/** An answer of the token endpoint: status and JSON body. */
export interface TokenEndpointAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** The `project_id` of the mock's service account. */
export const MOCK_PROJECT_ID = 'mock-project';
/** The service account's `client_email`, the only JWT `iss` accepted. */
export const MOCK_CLIENT_EMAIL = 'mock@mock-project.iam.gserviceaccount.com';
/** The OAuth scope an assertion must ask for. */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** The `grant_type` of a service-account token exchange (RFC 7523). */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** Google issues access tokens for an hour and accepts assertions living at most as long. */
const TOKEN_LIFETIME_S = 3600;
/** Clock skew tolerated on `iat` (a client clock slightly ahead). */
const IAT_SKEW_S = 300;
/** Google's service-account keys are 2048-bit RSA. */
const RSA_BITS = 2048;

function invalidGrant(description: string): TokenEndpointAnswer {
  return { status: 400, body: { error: 'invalid_grant', error_description: description } };
}

/**
 * The Google OAuth side of the mock: a service-account key pair (generated on first use, so mocks
 * that never see Vertex pay nothing), the JWT-bearer token exchange of `POST /token`, and the access
 * tokens it issued (valid for an hour of the mock's clock).
 */
export class GoogleTokenIssuer {
  private keys: { privateKeyPem: string; publicKey: KeyObject; keyId: string } | null = null;
  private readonly tokens = new Map<string, number>();
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  private keyPair(): { privateKeyPem: string; publicKey: KeyObject; keyId: string } {
    if (this.keys === null) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: RSA_BITS });
      this.keys = {
        privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        publicKey,
        // Google's private_key_id values are 40 hex digits.
        keyId: randomBytes(20).toString('hex'),
      };
    }
    return this.keys;
  }

  /** A service-account key whose JWTs this issuer accepts, with `token_uri` = `tokenUri`. */
  serviceAccount(tokenUri: string): GoogleServiceAccount {
    const { privateKeyPem, keyId } = this.keyPair();
    return {
      type: 'service_account',
      project_id: MOCK_PROJECT_ID,
      private_key_id: keyId,
      private_key: privateKeyPem,
      client_email: MOCK_CLIENT_EMAIL,
      client_id: '100000000000000000001',
      token_uri: tokenUri,
    };
  }

  /**
   * Answers a token request (the form fields of `POST /token`). `audiences` are the token URIs the
   * assertion's `aud` may name. Checks grant_type, the RS256 signature, `kid` when present, `iss`,
   * `aud`, the cloud-platform `scope`, `iat` and `exp` (not expired, at most an hour long).
   */
  exchange(form: URLSearchParams, audiences: readonly string[]): TokenEndpointAnswer {
    const grantType = form.get('grant_type');
    if (grantType !== JWT_BEARER_GRANT) {
      return {
        status: 400,
        body: {
          error: 'unsupported_grant_type',
          error_description: `Invalid grant_type: ${grantType ?? ''}`,
        },
      };
    }
    const assertion = form.get('assertion');
    if (assertion === null || assertion === '') return invalidGrant('Missing required parameter: assertion');
    const { publicKey, keyId } = this.keyPair();
    const jwt = verifyRs256Jwt(assertion, publicKey);
    if (typeof jwt === 'string') return invalidGrant(`Invalid JWT Signature. (${jwt})`);
    const { header, claims } = jwt;
    if (header.kid !== undefined && header.kid !== keyId)
      return invalidGrant('Invalid JWT Signature. (unknown kid)');
    if (claims.iss !== MOCK_CLIENT_EMAIL) return invalidGrant('Invalid JWT: iss is not the service account.');
    if (typeof claims.aud !== 'string' || !audiences.includes(claims.aud)) {
      return invalidGrant('Invalid JWT: Failed audience check.');
    }
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!scopes.includes(CLOUD_PLATFORM_SCOPE)) {
      return {
        status: 400,
        body: { error: 'invalid_scope', error_description: `Missing scope ${CLOUD_PLATFORM_SCOPE}.` },
      };
    }
    const nowS = this.now() / 1000;
    const { iat, exp } = claims;
    if (
      typeof iat !== 'number' ||
      typeof exp !== 'number' ||
      exp <= nowS ||
      iat > nowS + IAT_SKEW_S ||
      exp - iat > TOKEN_LIFETIME_S
    ) {
      return invalidGrant(
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
      );
    }
    const accessToken = `ya29.mock-${randomBytes(16).toString('hex')}`;
    this.tokens.set(accessToken, this.now() + TOKEN_LIFETIME_S * 1000);
    return {
      status: 200,
      body: { access_token: accessToken, expires_in: TOKEN_LIFETIME_S, token_type: 'Bearer' },
    };
  }

  /** True for an access token this issuer handed out that has not expired. */
  accepts(accessToken: string): boolean {
    const expiry = this.tokens.get(accessToken);
    return expiry !== undefined && this.now() < expiry;
  }
}
