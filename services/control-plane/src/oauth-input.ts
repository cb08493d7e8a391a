import { z } from 'zod';
import { InvalidRequestError } from '@switchyard/core';
import { nameField } from './admin-fields.js';
import { checkBaseUrl, type BaseUrlCheck } from './base-url-policy.js';
import type { UpstreamPolicy } from './upstream-policy.js';

/** Why 2048: the oauth_states.redirect_uri column's length, and far beyond any real endpoint URL. */
const urlField = z.string().trim().min(1, 'must not be empty').max(2048);

/** Why 191: the length of the varchar columns; client ids are far shorter (UUIDs, Google's ~72). */
const clientIdField = z.string().trim().min(1, 'must not be empty').max(191);

/** Body of POST /accounts/oauth/start. The URL overrides are checked by checkOAuthUrls in the handler. */
export const oauthStartInput = z.strictObject({
  /** An OAUTH_PROFILES id. */
  profile: z.string().min(1, 'must not be empty').max(64),
  channel_id: z.int().min(1).max(2_147_483_647),
  name: nameField.optional(),
  /** A proxy id, `"auto"` (fill-first over the enabled proxies) or null (direct). */
  proxy_id: z
    .union([z.int().min(1).max(2_147_483_647), z.literal('auto'), z.null()], {
      error: 'must be a proxy id, "auto" or null',
    })
    .optional(),
  authorize_url: urlField.optional(),
  token_url: urlField.optional(),
  client_id: clientIdField.optional(),
  /**
   * The client secret of `client_id` (your own OAuth client, or a public installed-app client such as
   * Gemini CLI's); stored encrypted, never shown. Why 512: far above any provider's secret.
   */
  client_secret: z.string().trim().min(1, 'must not be empty').max(512).optional(),
  redirect_uri: urlField.optional(),
});
export type OAuthStartInput = z.output<typeof oauthStartInput>;

/** Why 4096: an authorization code, a state and a redirect URL fit many times over. */
const callbackField = z.string().trim().min(1, 'must not be empty').max(4096);

/**
 * Body of POST /accounts/oauth/callback: `{state, code}` (a `code` of the form `code#state` may leave
 * `state` out), or `{callback_url}` (the full redirect URL, or Anthropic's `code#state` text).
 */
export const oauthCallbackInput = z
  .strictObject({
    state: callbackField.optional(),
    code: callbackField.optional(),
    callback_url: callbackField.optional(),
  })
  .refine((b) => (b.callback_url !== undefined) !== (b.code !== undefined || b.state !== undefined), {
    message: "give either 'callback_url' or 'code' (with 'state'), not both",
  });
export type OAuthCallbackInput = z.output<typeof oauthCallbackInput>;

/** The one place OAuth URLs meet the SSRF policy (the same host check upstream base URLs pass). */
function checkOAuthUrl(url: string, policy: UpstreamPolicy): BaseUrlCheck {
  return checkBaseUrl(url, policy);
}

/**
 * Checks the admin's URL overrides; throws a 400 naming the first one refused. The URLs are kept as
 * given (a redirect URI must match what the client registered, trailing slash included).
 */
export function checkOAuthUrls(input: OAuthStartInput, policy: UpstreamPolicy): void {
  for (const param of ['authorize_url', 'token_url', 'redirect_uri'] as const) {
    const value = input[param];
    if (value === undefined) continue;
    const check = checkOAuthUrl(value, policy);
    if (!check.ok) throw new InvalidRequestError(`'${param}': ${check.reason}`, { param });
  }
}
