import type { MockFaults } from './mock-faults.js';
import type { AwsCredentials } from './sigv4-verifier.js';

/** How to start a MockUpstream; every field is optional. */
export interface MockUpstreamOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Initial per-instance faults. */
  faults?: MockFaults;
  /** Content chunks per stream (a request's numeric body field `mock_chunks` overrides it); default 5. */
  chunks?: number;
  /** Sent back as the `x-mock-upstream` response header, to tell several mocks apart. */
  name?: string;
  /**
   * When set, requests must present this key, else 401: as `Authorization: Bearer <key>` or
   * `x-api-key` (OpenAI, Anthropic routes), `api-key` (Azure routes), `x-goog-api-key` or `?key=`
   * (Gemini routes, which answer a wrong key 400 and a missing one 403 like Google does).
   */
  requireKey?: string;
  /**
   * Most recorded requests kept (oldest dropped first), so a long benchmark does not grow memory
   * without bound; default 10,000.
   */
  maxRecordedRequests?: number;
  /**
   * Cached prompt tokens every usage reports (capped at the prompt tokens; the request header
   * `x-mock-cached-tokens` overrides it); default 0.
   */
  cachedTokens?: number;
  /** The OpenAI chat route reports no usage, as some OpenAI-compatible hosts do; default false. */
  omitUsage?: boolean;
  /** When set, every Bedrock route verifies the request's AWS Signature V4 against these (else 403). */
  awsCredentials?: AwsCredentials;
  /** When set (>= 400), `POST /token` answers every exchange with this status. */
  tokenStatus?: number;
  /** Epoch milliseconds for JWT and access-token expiry; default Date.now. */
  now?: () => number;
}
