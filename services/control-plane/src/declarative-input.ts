import { z } from 'zod';
import { InvalidRequestError } from '@switchyard/core';
import { accountCreateInput } from './account-input.js';
import { valueAt } from './admin-errors.js';
import { nameField } from './admin-fields.js';
import { apiKeyField, channelCreateInput } from './channel-input.js';
import { groupCreateInput } from './group-input.js';
import { keyCreateInput } from './key-input.js';
import { priceModelField, pricePutInput } from './price-input.js';
import { userCreateInput } from './user-input.js';

/**
 * The declarative configuration document (switchyard.yaml) as POST /apply takes it. Every entry has
 * the admin API's create fields, with the same names, formats and validators (the *-input.ts
 * schemas), except where an id would be needed: keys name their user, not a user id. Secret fields
 * (an account's `api_key`, a key's `key`) arrive resolved as `{ "value": "..." }`: in the file they
 * are `{ env: VAR }` or `{ file: PATH }`, which the CLI or the start-up resolves where it runs. A plain
 * string is refused, so a secret cannot end up in a file (and in git) by accident.
 */

/** What a `{ env }` / `{ file }` reference becomes once resolved by whoever read the file. */
const resolvedSecret = z.strictObject({ value: z.string() });

/** A secret field: `{ value }` whose value passes `inner`; a plain string or an unresolved reference is refused. */
function secretField(inner: z.ZodString) {
  return z
    .unknown()
    .superRefine((input, ctx) => {
      if (typeof input === 'string') {
        ctx.addIssue({
          code: 'custom',
          message:
            'a secret must not be a plain string in the file: write { env: VARIABLE } or { file: /path/to/secret }',
        });
        return;
      }
      if (typeof input === 'object' && input !== null && ('env' in input || 'file' in input)) {
        ctx.addIssue({
          code: 'custom',
          message:
            'is an unresolved { env } / { file } reference: `switchyard apply -f` and the start-up resolve them; the API takes { value }',
        });
        return;
      }
      if (!resolvedSecret.safeParse(input).success) {
        ctx.addIssue({ code: 'custom', message: 'must be { env: VARIABLE } or { file: /path/to/secret }' });
      }
    })
    .transform((input) => (input as { value: string }).value)
    .pipe(inner);
}

/**
 * A client key's plaintext as a file declares it. Why 20 to 256: long enough that a declared key is
 * not guessable in practice (generate one with `openssl rand -base64 32`), short enough for a header.
 */
const clientKeyField = z
  .string()
  .min(20, 'must be at least 20 characters (generate one, e.g. openssl rand -base64 32)')
  .max(256)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

const groupEntry = groupCreateInput;

const priceEntry = pricePutInput.extend({ model: priceModelField });

/** A channel's account; OAuth accounts join through their authorization flow and are not declared. */
const accountEntry = accountCreateInput
  .omit({ proxy_id: true, api_key: true })
  .extend({ api_key: secretField(apiKeyField) });

/** Why 100: the admin API's cap on a channel's accounts (channel-input.ts). */
const channelEntry = channelCreateInput
  .omit({ accounts: true })
  .extend({ accounts: z.array(accountEntry).max(100).optional() });

const userEntry = userCreateInput;

/** The channel overrides (`pinned_channel_id`, `excluded_channel_ids`) name ids and stay API-only. */
const keyEntry = keyCreateInput
  .omit({ user_id: true, pinned_channel_id: true, excluded_channel_ids: true })
  .extend({
    /** The owning user's name (declared in the same file or existing); null or omitted: no user. */
    user: nameField.nullable().optional(),
    key: secretField(clientKeyField),
  });

/**
 * Why these caps: far beyond a real deployment's entries, and a document within them fits the admin
 * API's 1 MiB body limit.
 */
export const declarationInput = z.strictObject({
  version: z.literal(1, { error: 'must be 1' }),
  groups: z.array(groupEntry).max(1000).optional(),
  prices: z.array(priceEntry).max(10_000).optional(),
  channels: z.array(channelEntry).max(1000).optional(),
  users: z.array(userEntry).max(10_000).optional(),
  keys: z.array(keyEntry).max(10_000).optional(),
});
export type Declaration = z.output<typeof declarationInput>;
export type GroupEntry = z.output<typeof groupEntry>;
export type PriceEntry = z.output<typeof priceEntry>;
export type ChannelEntry = z.output<typeof channelEntry>;
export type AccountEntry = z.output<typeof accountEntry>;
export type UserEntry = z.output<typeof userEntry>;
export type KeyEntry = z.output<typeof keyEntry>;

/** A JSON path as the file's author reads it: `channels[1].accounts[0].api_key`. */
export function jsonPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? String(s) : `.${String(s)}`;
  }
  return out;
}

/**
 * A 400 naming `path` (as `param` and at the start of the message). `inner` is an error a shared
 * validator threw for one entry (param `base_url`, `accounts.0.api_key`): its param is put under the
 * entry's path, so the author sees `channels[1].accounts[0].api_key`.
 */
export function invalidAt(path: string, message: string, code = 'invalid_request'): InvalidRequestError {
  return new InvalidRequestError(`'${path}': ${message}`, { code, param: path });
}

/** `param` of a shared validator's error (`accounts.0.api_key`) as a JSON path below `prefix`. */
export function pathBelow(prefix: string, param: string | null): string {
  if (param === null || param === '') return prefix;
  let out = prefix;
  for (const s of param.split('.')) out += /^\d+$/.test(s) ? `[${s}]` : `.${s}`;
  return out;
}

/**
 * Validates a whole document, or throws a 400 naming the first offending field by its JSON path.
 * Identities must be unique within their list (a second `name` is refused where it appears).
 */
export function parseDeclaration(input: unknown): Declaration {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidRequestError('The configuration document must be a JSON object with `version: 1`.', {
      code: 'invalid_body',
    });
  }
  const result = declarationInput.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    if (issue === undefined) throw new InvalidRequestError('The configuration document is invalid.');
    const segments: PropertyKey[] = [...issue.path];
    if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) segments.push(issue.keys[0]);
    const path = jsonPath(segments);
    if (issue.code === 'unrecognized_keys') {
      throw new InvalidRequestError(`Unknown field '${path}'.`, { param: path });
    }
    const missing = issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined;
    throw invalidAt(path, missing ? 'is required' : issue.message);
  }
  const doc = result.data;
  requireUnique(doc.groups ?? [], 'groups', 'name', (g) => g.name);
  requireUnique(doc.prices ?? [], 'prices', 'model', (p) => p.model);
  requireUnique(doc.channels ?? [], 'channels', 'name', (c) => c.name);
  (doc.channels ?? []).forEach((c, i) =>
    requireUnique(c.accounts ?? [], `channels[${i}].accounts`, 'name', (a, j) => accountName(a, j)),
  );
  requireUnique(doc.users ?? [], 'users', 'name', (u) => u.name);
  requireUnique(doc.keys ?? [], 'keys', 'name', (k) => k.name);
  requireUnique(doc.keys ?? [], 'keys', 'key', (k) => k.key, 'declares the same key as an earlier entry');
  return doc;
}

/** An account's name as the admin API defaults it: `account-<n>`, 1-based. */
export function accountName(account: AccountEntry, index: number): string {
  return account.name ?? `account-${index + 1}`;
}

function requireUnique<T>(
  list: readonly T[],
  path: string,
  field: string,
  identity: (entry: T, index: number) => string,
  message?: string,
): void {
  const seen = new Set<string>();
  list.forEach((entry, i) => {
    const id = identity(entry, i);
    if (seen.has(id)) {
      throw invalidAt(
        `${path}[${i}].${field}`,
        message ?? `'${id}' is declared twice in this list`,
        'duplicate_entry',
      );
    }
    seen.add(id);
  });
}
