import { z } from 'zod';
import { groupField, isoInstantField, modelListField, nameField } from './admin-fields.js';

const keyFields = {
  name: nameField,
  /** null: every model. An empty list would make a key that can call nothing, so it is refused. */
  models: modelListField.nullable(),
  /** null: never expires. */
  expires_at: isoInstantField.nullable(),
  group: groupField,
  enabled: z.boolean(),
  /** Admin override: route the key only to this channel; null removes the pin. */
  pinned_channel_id: z.int().min(1).max(2_147_483_647).nullable(),
  /** Admin override: channels the key never reaches. Why 1000: far more than any deployment's channels. */
  excluded_channel_ids: z.array(z.int().min(1).max(2_147_483_647)).max(1000),
};

/** Body of POST /keys. Defaults (every model, no expiry, group 'default', enabled) are applied by the handler. */
export const keyCreateInput = z.strictObject({
  ...keyFields,
  models: keyFields.models.optional(),
  expires_at: keyFields.expires_at.optional(),
  group: keyFields.group.optional(),
  enabled: keyFields.enabled.optional(),
  pinned_channel_id: keyFields.pinned_channel_id.optional(),
  excluded_channel_ids: keyFields.excluded_channel_ids.optional(),
});
export type KeyCreateInput = z.output<typeof keyCreateInput>;

/** Body of PATCH /keys/:id. */
export const keyPatchInput = z.strictObject(keyFields).partial();
export type KeyPatchInput = z.output<typeof keyPatchInput>;
