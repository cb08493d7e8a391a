import type { ServerResponse } from 'node:http';
import type { GoogleTokenIssuer } from './google-token-issuer.js';
import { sendJson } from './send-json.js';

/**
 * `POST /token`, Google's OAuth token endpoint for the JWT-bearer grant: the form-encoded body is
 * exchanged by `issuer`, unless `tokenStatus` (>= 400) makes every exchange fail with that status.
 */
export function handleTokenRequest(
  res: ServerResponse,
  form: URLSearchParams,
  issuer: GoogleTokenIssuer,
  audiences: readonly string[],
  tokenStatus: number | null,
): void {
  if (tokenStatus !== null && tokenStatus >= 400) {
    const body =
      tokenStatus < 500
        ? { error: 'invalid_grant', error_description: `mock-upstream tokenStatus ${tokenStatus}` }
        : { error: 'internal_failure', error_description: `mock-upstream tokenStatus ${tokenStatus}` };
    sendJson(res, tokenStatus, body, tokenStatus === 429 ? { 'retry-after': '1' } : undefined);
    return;
  }
  const answer = issuer.exchange(form, audiences);
  sendJson(res, answer.status, answer.body, { 'cache-control': 'no-store' });
}
