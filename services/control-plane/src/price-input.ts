import { z } from 'zod';
import { groupField } from './admin-fields.js';
import { queryValue, substringQuery } from './page-query.js';
import { usdField } from './tenancy-fields.js';

/**
 * The model a price applies to: an exact name or a `*` glob, the length of the varchar(191) primary
 * key, without whitespace or control characters (no model name has them).
 */
export const priceModelField = z
  .string()
  .min(1, 'must not be empty')
  .max(191)
  .regex(/^[^\s\p{Cc}]+$/u, 'must be a model name or `*` glob without spaces or control characters');

/** The `{model}` path parameter. */
export const pricePath = z.strictObject({ model: priceModelField });

/** Body of PUT /prices/:model: USD per million tokens, per request and per image. */
export const pricePutInput = z.strictObject({
  input_per_million: usdField,
  output_per_million: usdField,
  /** null or omitted: cached prompt tokens cost the input price. */
  cached_input_per_million: usdField.nullable().optional(),
  /** null or omitted: reasoning tokens cost the output price. */
  reasoning_per_million: usdField.nullable().optional(),
  per_request: usdField.optional(),
  per_image: usdField.optional(),
});
export type PricePutInput = z.output<typeof pricePutInput>;

/** Query of GET /prices. */
export const priceListQuery = z.object({ q: substringQuery.optional() });

/** Why 1e12: beyond any real request, and the product with a price stays exact in BigInt anyway. */
const tokenCount = queryValue((t) => {
  if (!/^\d{1,13}$/.test(t)) return undefined;
  const n = Number(t);
  return n <= 1e12 ? n : undefined;
}, 'must be a non-negative integer');

/**
 * Query of GET /prices/:model/quote. Counts are clamped as core's costNano clamps them (cached ≤
 * prompt, reasoning ≤ completion). `group` applies the group's price ratio; none: the list price.
 */
export const quoteQuery = z.object({
  prompt_tokens: tokenCount.optional(),
  completion_tokens: tokenCount.optional(),
  cached_tokens: tokenCount.optional(),
  reasoning_tokens: tokenCount.optional(),
  images: tokenCount.optional(),
  group: groupField.optional(),
});
