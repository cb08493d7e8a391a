import { isIP } from 'node:net';
import { z } from 'zod';
import { parseRatio, parseUsd } from '@switchyard/core';
import type { LimitSettings } from './limit-columns.js';

/**
 * Field schemas for users, groups, keys and prices: money, ratios, limits and address lists. Money is
 * accepted as a decimal string (`"12.5"`, exact) or a JSON number and parsed to integer nano-USD.
 */

/** A non-negative USD amount → nano-USD (at most 9 decimals, at most MAX_NANOS). */
export const usdField = z
  .union([z.string(), z.number()], {
    error: (issue) =>
      issue.input === undefined
        ? 'is required'
        : 'must be a USD amount: a decimal string ("12.5") or a JSON number',
  })
  .transform((value, ctx) => {
    const nanos = parseUsd(value);
    if (nanos === null) {
      ctx.issues.push({
        code: 'custom',
        input: value,
        message: 'must be a non-negative USD amount with at most 9 decimals and at most 9007199.254740991',
      });
      return z.NEVER;
    }
    return nanos;
  });

/** A spending limit: a USD amount, or null for unlimited. */
export const quotaField = usdField.nullable();

/** A price ratio (`1`, `0.8`, `"1.25"`; 0 to 1000, at most 6 decimals) → parts per million. */
export const ratioField = z
  .union([z.string(), z.number()], {
    error: 'must be a number or a decimal string, e.g. 1.5',
  })
  .transform((value, ctx) => {
    const ppm = parseRatio(value);
    if (ppm === null) {
      ctx.issues.push({
        code: 'custom',
        input: value,
        message: 'must be a ratio from 0 to 1000 with at most 6 decimals',
      });
      return z.NEVER;
    }
    return ppm;
  });

/** A rate or concurrency limit: a positive signed 32-bit integer (an `integer` column), or null for none. */
export const limitField = z.int().min(1).max(2_147_483_647).nullable();

/** `quota` and the limits of a user or key body, as the repositories name them (absent stays absent). */
export function limitSettings(input: {
  quota?: number | null | undefined;
  rpm_limit?: number | null | undefined;
  tpm_limit?: number | null | undefined;
  concurrency_limit?: number | null | undefined;
}): Partial<LimitSettings> {
  return {
    quotaNano: input.quota,
    rpmLimit: input.rpm_limit,
    tpmLimit: input.tpm_limit,
    concurrencyLimit: input.concurrency_limit,
  };
}

/** A row id another row refers to (`user_id`): the positive range of an `integer` column. */
export const refIdField = z.int().min(1).max(2_147_483_647);

/** Group names: the `user_groups.name` varchar(64); no spaces or slashes, so they sit in a URL as they are. */
export const groupNameField = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1 to 64 letters, digits, `.`, `_` or `-`');

/** A CIDR (`10.0.0.0/8`, `2001:db8::/32`) or a single IPv4/IPv6 address, trimmed. */
const addressEntryField = z
  .string()
  .trim()
  .refine(isAddressEntry, 'must be an IPv4/IPv6 address or a CIDR such as 10.0.0.0/8');

/**
 * Client addresses a key is allowed from; null = any. Why 100: an allowlist is a handful of office
 * ranges or servers; past that a network policy is the right tool. An empty list would make a key no
 * client can use, so it is refused (null means any address).
 */
export const ipAllowlistField = z
  .array(addressEntryField)
  .min(1, 'must list at least one address or CIDR (null allows every address)')
  .max(100)
  .nullable();

/**
 * The same test the relay's AddressSet applies (isIP on the address, a prefix within the family's
 * width), so every stored entry is one the relay can use.
 */
export function isAddressEntry(entry: string): boolean {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  // A zone id (`fe80::1%eth0`) names an interface of one host: meaningless for a client address.
  const family = address.includes('%') ? 0 : isIP(address);
  if (family === 0) return false;
  if (slash === -1) return true;
  const prefix = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}
