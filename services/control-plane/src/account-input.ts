import { z } from 'zod';
import { InvalidRequestError, PROVIDER_CATALOG, type ProviderId } from '@switchyard/core';
import { nameField } from './admin-fields.js';
import { apiKeyField } from './channel-input.js';
import { credentialProblem } from './credential-check.js';
import type { UpstreamPolicy } from './upstream-policy.js';

/**
 * A proxy id, `"auto"` (fill-first over the enabled proxies) or null (direct). Why 2^31-1: ids live in
 * a signed 32-bit `integer` column.
 */
const proxyChoiceField = z.union([z.int().min(1).max(2_147_483_647), z.literal('auto'), z.null()], {
  error: 'must be a proxy id, "auto" or null',
});

/** Body of POST /channels/:id/accounts. Defaults: named `account-<n>`, enabled, direct (no proxy). */
export const accountCreateInput = z.strictObject({
  name: nameField.optional(),
  api_key: apiKeyField,
  enabled: z.boolean().optional(),
  proxy_id: proxyChoiceField.optional(),
});
export type AccountCreateInput = z.output<typeof accountCreateInput>;

/** Body of PATCH /accounts/:id: a new name, a rotated credential, another proxy. */
export const accountPatchInput = z
  .strictObject({ name: nameField, api_key: apiKeyField, proxy_id: proxyChoiceField })
  .partial();
export type AccountPatchInput = z.output<typeof accountPatchInput>;

/** Body of POST /accounts/:id/disable (optional). Why 1000: a sentence or two, bounded for the views. */
export const accountDisableInput = z.strictObject({
  reason: z.string().trim().min(1, 'must not be empty').max(1000).optional(),
});

/**
 * Checks a plaintext credential against the form the channel's provider needs (credential-check.ts,
 * as channel accounts are checked, URLs inside it under `policy`); a 400 naming `api_key` that never
 * quotes it.
 */
export function checkAccountCredential(
  provider: ProviderId,
  credential: string,
  policy: UpstreamPolicy,
): void {
  const problem = credentialProblem(PROVIDER_CATALOG[provider].credential, credential, policy);
  if (problem !== null) {
    throw new InvalidRequestError(`'api_key' (provider ${provider}): ${problem}.`, { param: 'api_key' });
  }
}
