import { z } from 'zod';
import { parseIsoInstant } from './iso-time.js';

/**
 * Field schemas shared by the admin request bodies. Lengths follow the columns they land in
 * (varchar(191) names, varchar(64) groups) so a valid request never fails in the database.
 */
export const nameField = z.string().trim().min(1, 'must not be empty').max(191);

export const groupField = z.string().trim().min(1, 'must not be empty').max(64);

/** An exact model name or a `*` glob. */
export const modelPatternField = z.string().trim().min(1, 'must not be empty').max(191);

/** A non-empty list of model names / globs; 1000 is far beyond any real channel and bounds the row. */
export const modelListField = z
  .array(modelPatternField)
  .min(1, 'must list at least one model name or glob')
  .max(1000);

/** An ISO-8601 instant, parsed to epoch milliseconds. */
export const isoInstantField = z.string().transform((text, ctx) => {
  const ms = parseIsoInstant(text);
  if (ms === undefined) {
    ctx.issues.push({
      code: 'custom',
      input: text,
      message: 'must be an ISO-8601 date or date-time with a time zone, e.g. 2030-01-31T00:00:00Z',
    });
    return z.NEVER;
  }
  return ms;
});
