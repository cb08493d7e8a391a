import { z } from 'zod';
import { PROVIDER_IDS } from '@switchyard/core';
import { checkBaseUrl } from './base-url-policy.js';
import { modelListField, modelPatternField, groupField, nameField } from './admin-fields.js';

/** Checked against the SSRF policy and normalised (no trailing slash). */
const baseUrlField = z
  .string()
  .max(2048)
  .transform((text, ctx) => {
    const check = checkBaseUrl(text.trim());
    if (!check.ok) {
      ctx.issues.push({ code: 'custom', input: text, message: check.reason });
      return z.NEVER;
    }
    return check.url;
  });

const accountInput = z.strictObject({
  name: nameField.optional(),
  // Why 8192: far above any provider's key or token, small enough to bound the row.
  api_key: z.string().trim().min(1, 'must not be empty').max(8192),
});

/**
 * Provider options (`api_version`, `region`, ...): which keys a provider takes is checked against its
 * catalogue entry once the provider is known (channel-options.ts). Why 2048 for values: a URL-valued
 * option is as long as a base_url may be.
 */
const optionsField = z.record(z.string(), z.string().trim().min(1, 'must not be empty').max(2048));

/** Why 100: a channel is one upstream; more accounts than that is a configuration mistake. */
const accountsField = z.array(accountInput).min(1, 'must contain at least one account').max(100);

/** Signed 32-bit, the portable range of an `integer` column. */
const int32 = z.int().min(-2_147_483_648).max(2_147_483_647);

const channelFields = {
  name: nameField,
  provider: z.enum(PROVIDER_IDS),
  base_url: baseUrlField,
  options: optionsField,
  models: modelListField,
  model_mapping: z.record(modelPatternField, modelPatternField),
  priority: int32,
  // Why 1e6: weights are relative shares; the cap keeps sums of many channels exact and small.
  weight: z.int().min(1).max(1_000_000),
  group: groupField,
  enabled: z.boolean(),
  accounts: accountsField,
};

/**
 * Body of POST /channels. Defaults (priority 0, weight 1, group 'default', enabled, no options) are
 * applied by the handler; base_url and models default to the provider's (channel-settings.ts).
 */
export const channelCreateInput = z.strictObject({
  ...channelFields,
  base_url: channelFields.base_url.optional(),
  options: channelFields.options.optional(),
  models: channelFields.models.optional(),
  model_mapping: channelFields.model_mapping.optional(),
  priority: channelFields.priority.optional(),
  weight: channelFields.weight.optional(),
  group: channelFields.group.optional(),
  enabled: channelFields.enabled.optional(),
});
export type ChannelCreateInput = z.output<typeof channelCreateInput>;

/** Body of PATCH /channels/:id: any subset of the create fields; `accounts` and `options` replace the old ones. */
export const channelPatchInput = z.strictObject(channelFields).partial();
export type ChannelPatchInput = z.output<typeof channelPatchInput>;
