import { z } from 'zod';
import { groupField, nameField } from './admin-fields.js';
import { booleanQuery, pageQueryFields, substringQuery } from './page-query.js';
import { limitField, quotaField, usdField } from './tenancy-fields.js';

/** Why 191: the `users.email` varchar(191). */
const emailField = z.email('must be an email address').max(191);

const userFields = {
  /** Unique among users. */
  name: nameField,
  email: emailField.nullable(),
  /** Must name an existing group (checked by the repository: 400 `unknown_group`). */
  group: groupField,
  enabled: z.boolean(),
  /** USD; null = unlimited. */
  quota: quotaField,
  rpm_limit: limitField,
  tpm_limit: limitField,
  concurrency_limit: limitField,
};

/** Body of POST /users. Defaults (no email, group 'default', enabled, unlimited) are applied by the handler. */
export const userCreateInput = z.strictObject({
  ...userFields,
  email: userFields.email.optional(),
  group: userFields.group.optional(),
  enabled: userFields.enabled.optional(),
  quota: userFields.quota.optional(),
  rpm_limit: userFields.rpm_limit.optional(),
  tpm_limit: userFields.tpm_limit.optional(),
  concurrency_limit: userFields.concurrency_limit.optional(),
});
export type UserCreateInput = z.output<typeof userCreateInput>;

/** Body of PATCH /users/:id. */
export const userPatchInput = z.strictObject(userFields).partial();
export type UserPatchInput = z.output<typeof userPatchInput>;

/** Query of GET /users. Unknown parameters are ignored, as query strings customarily are. */
export const userQueryInput = z.object({
  ...pageQueryFields('users'),
  group: groupField.optional(),
  enabled: booleanQuery.optional(),
  /** Substring of the name or the email. */
  q: substringQuery.optional(),
});

/** Query of DELETE /users/:id. */
export const userDeleteQuery = z.object({
  /** Delete the user's keys too; without it a user with keys is refused (409 `user_has_keys`). */
  cascade: booleanQuery.optional(),
});

/** Body of POST /users/:id/topup: USD added to the user's quota. */
export const topUpInput = z.strictObject({
  amount: usdField.refine((nanos) => nanos > 0, 'must be more than 0'),
});
