import { z } from 'zod';
import { ACCOUNT_STRATEGIES, PROVIDER_IDS } from '@switchyard/core';
import { modelListField, modelPatternField, groupField, nameField } from './admin-fields.js';

/**
 * Checked against the SSRF policy (which depends on the gateway's configuration) and normalised by the
 * route handler, through channel-settings.ts. Why 2048: the longest URL every browser and proxy takes.
 */
const baseUrlField = z.string().trim().max(2048);

/**
 * An upstream credential in plaintext (channel accounts and POST /channels/:id/accounts). Why 8192: far
 * above any provider's key or token, small enough to bound the row.
 */
export const apiKeyField = z.string().trim().min(1, 'must not be empty').max(8192);

const accountInput = z.strictObject({
  name: nameField.optional(),
  api_key: apiKeyField,
});

/**
 * Provider options (`api_version`, `region`, ...): which keys a provider takes is checked against its
 * catalogue entry once the provider is known (channel-options.ts). Why 2048 for values: a URL-valued
 * option is as long as a base_url may be.
 */
const optionsField = z.record(z.string(), z.string().trim().min(1, 'must not be empty').max(2048));

/**
 * Why 100: a channel is one upstream; more accounts than that is a configuration mistake. A PATCH
 * replacing the list must leave one (it would also delete OAuth accounts); a new channel may start
 * with none: OAuth accounts join through the authorization flow, others `POST /channels/{id}/accounts`.
 */
const accountsField = z.array(accountInput).min(1, 'must contain at least one account').max(100);
const newAccountsField = z.array(accountInput).max(100);

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
  // Why 32: a channel shared by more groups than that is better modelled as one group.
  groups: z.array(groupField).min(1, 'must contain at least one group').max(32),
  enabled: z.boolean(),
  accounts: accountsField,
  account_strategy: z.enum(ACCOUNT_STRATEGIES),
  sticky_sessions: z.boolean(),
  // null = the relay's configured default. Why these caps: 10 min to connect, 1 h for a first byte or
  // between chunks are beyond any real upstream and catch unit mistakes (seconds given as ms stay valid).
  connect_timeout_ms: z.int().min(1).max(600_000).nullable(),
  first_byte_timeout_ms: z.int().min(1).max(3_600_000).nullable(),
  idle_timeout_ms: z.int().min(1).max(3_600_000).nullable(),
  /** null restores every default. */
  breaker: z
    .strictObject({
      error_threshold_percent: z.int().min(1).max(100).optional(),
      volume_threshold: z.int().min(1).max(10_000).optional(),
      reset_timeout_ms: z.int().min(100).max(3_600_000).optional(),
      window_ms: z.int().min(1000).max(3_600_000).optional(),
    })
    .nullable(),
};

/**
 * Body of POST /channels. Defaults (priority 0, weight 1, group 'default', enabled, no options) are
 * applied by the handler; base_url and models default to the provider's (channel-settings.ts).
 */
export const channelCreateInput = z.strictObject({
  ...channelFields,
  accounts: newAccountsField.optional(),
  base_url: channelFields.base_url.optional(),
  options: channelFields.options.optional(),
  models: channelFields.models.optional(),
  model_mapping: channelFields.model_mapping.optional(),
  priority: channelFields.priority.optional(),
  weight: channelFields.weight.optional(),
  group: channelFields.group.optional(),
  groups: channelFields.groups.optional(),
  enabled: channelFields.enabled.optional(),
  account_strategy: channelFields.account_strategy.optional(),
  sticky_sessions: channelFields.sticky_sessions.optional(),
  connect_timeout_ms: channelFields.connect_timeout_ms.optional(),
  first_byte_timeout_ms: channelFields.first_byte_timeout_ms.optional(),
  idle_timeout_ms: channelFields.idle_timeout_ms.optional(),
  breaker: channelFields.breaker.optional(),
});
export type ChannelCreateInput = z.output<typeof channelCreateInput>;

/** Body of PATCH /channels/:id: any subset of the create fields; `accounts` and `options` replace the old ones. */
export const channelPatchInput = z.strictObject(channelFields).partial();
export type ChannelPatchInput = z.output<typeof channelPatchInput>;
