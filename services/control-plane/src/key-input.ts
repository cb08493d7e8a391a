import { z } from 'zod';
import { groupField, isoInstantField, modelListField, nameField } from './admin-fields.js';
import { booleanQuery, idQuery, pageQueryFields, substringQuery } from './page-query.js';
import { ipAllowlistField, limitField, quotaField, refIdField } from './tenancy-fields.js';

const keyFields = {
  name: nameField,
  /** null: every model. An empty list would make a key that can call nothing, so it is refused. */
  models: modelListField.nullable(),
  /** null: never expires. */
  expires_at: isoInstantField.nullable(),
  /** Must name an existing group (checked by the repository: 400 `unknown_group`). */
  group: groupField,
  enabled: z.boolean(),
  /** Admin override: route the key only to this channel; null removes the pin. */
  pinned_channel_id: z.int().min(1).max(2_147_483_647).nullable(),
  /** Admin override: channels the key never reaches. Why 1000: far more than any deployment's channels. */
  excluded_channel_ids: z.array(z.int().min(1).max(2_147_483_647)).max(1000),
  /** The owning user (400 `unknown_user` when there is none); null: a key of no user. */
  user_id: refIdField.nullable(),
  /** USD; null = unlimited. */
  quota: quotaField,
  /** CIDRs or single addresses; null = any client address. */
  ip_allowlist: ipAllowlistField,
  rpm_limit: limitField,
  tpm_limit: limitField,
  concurrency_limit: limitField,
};

/**
 * Body of POST /keys. Defaults (every model, no expiry, the user's group or 'default', enabled, no
 * user, no limits) are applied by the handler and the repository.
 */
export const keyCreateInput = z.strictObject({
  ...keyFields,
  models: keyFields.models.optional(),
  expires_at: keyFields.expires_at.optional(),
  group: keyFields.group.optional(),
  enabled: keyFields.enabled.optional(),
  pinned_channel_id: keyFields.pinned_channel_id.optional(),
  excluded_channel_ids: keyFields.excluded_channel_ids.optional(),
  user_id: keyFields.user_id.optional(),
  quota: keyFields.quota.optional(),
  ip_allowlist: keyFields.ip_allowlist.optional(),
  rpm_limit: keyFields.rpm_limit.optional(),
  tpm_limit: keyFields.tpm_limit.optional(),
  concurrency_limit: keyFields.concurrency_limit.optional(),
});
export type KeyCreateInput = z.output<typeof keyCreateInput>;

/** Body of PATCH /keys/:id. */
export const keyPatchInput = z.strictObject(keyFields).partial();
export type KeyPatchInput = z.output<typeof keyPatchInput>;

/** Query of GET /users/:id/keys (the user is the path's). Unknown parameters are ignored. */
export const userKeyQueryInput = z.object({
  ...pageQueryFields('keys'),
  group: groupField.optional(),
  enabled: booleanQuery.optional(),
  /** Substring of the name. */
  q: substringQuery.optional(),
});
export type UserKeyQueryInput = z.output<typeof userKeyQueryInput>;

/** Query of GET /keys. */
export const keyQueryInput = userKeyQueryInput.extend({ user_id: idQuery.optional() });
