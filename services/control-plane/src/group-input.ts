import { z } from 'zod';
import { groupNameField, ratioField } from './tenancy-fields.js';

/** Why 512: the `user_groups.description` varchar(512). */
const descriptionField = z.string().trim().max(512).nullable();

/** Body of POST /groups. `price_ratio` defaults to 1 (list price) in the handler. */
export const groupCreateInput = z.strictObject({
  name: groupNameField,
  description: descriptionField.optional(),
  price_ratio: ratioField.optional(),
});
export type GroupCreateInput = z.output<typeof groupCreateInput>;

/** Body of PATCH /groups/:name; the name is the group's identity and cannot change. */
export const groupPatchInput = z
  .strictObject({
    description: descriptionField,
    price_ratio: ratioField,
  })
  .partial();
export type GroupPatchInput = z.output<typeof groupPatchInput>;

/** The `{name}` path parameter. */
export const groupPath = z.strictObject({ name: groupNameField });
