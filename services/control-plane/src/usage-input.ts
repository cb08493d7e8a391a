import { z } from 'zod';
import { parseIsoInstant } from './iso-time.js';
import { decodeUsageCursor } from './usage-cursor.js';

/** Why 500: one page stays a few hundred kilobytes of JSON; clients page with the cursor. */
export const USAGE_MAX_LIMIT = 500;
export const USAGE_DEFAULT_LIMIT = 50;

/** A query-string value parsed by `parse`, with `hint` as the error when it returns undefined. */
function queryValue<T>(parse: (text: string) => T | undefined, hint: string) {
  return z.string().transform((text, ctx) => {
    const value = parse(text);
    if (value === undefined) {
      ctx.issues.push({ code: 'custom', input: text, message: hint });
      return z.NEVER;
    }
    return value;
  });
}

function positiveInt(text: string): number | undefined {
  if (!/^[1-9]\d{0,15}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Query of GET /usage. Unknown parameters are ignored, as query strings customarily are. */
export const usageQueryInput = z.object({
  key_id: queryValue(positiveInt, 'must be a positive integer').optional(),
  model: z.string().min(1).max(191).optional(),
  since: queryValue(parseIsoInstant, 'must be an ISO-8601 date or date-time with a time zone').optional(),
  limit: queryValue((t) => {
    const n = positiveInt(t);
    return n !== undefined && n <= USAGE_MAX_LIMIT ? n : undefined;
  }, `must be an integer from 1 to ${USAGE_MAX_LIMIT}`).optional(),
  cursor: queryValue(decodeUsageCursor, 'is not a cursor returned by this endpoint').optional(),
});
export type UsageQueryInput = z.output<typeof usageQueryInput>;
