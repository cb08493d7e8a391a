/**
 * ISO-8601 instants as the admin API accepts them: a calendar date (`2030-01-31`, midnight UTC) or a
 * date-time with a zone (`2030-01-31T12:00:00Z`, `2030-01-31T12:00:00.5+02:00`). A date-time without
 * a zone is refused: it would mean whatever the server's time zone happens to be.
 */
const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2})))?$/i;

/** Epoch milliseconds of `text`, or undefined when it is not a valid ISO-8601 instant. */
export function parseIsoInstant(text: string): number | undefined {
  const m = ISO_INSTANT.exec(text);
  if (m === null) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Date.parse rolls 2026-02-30 over to March; refuse days the month does not have.
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (
    calendar.getUTCFullYear() !== year ||
    calendar.getUTCMonth() !== month - 1 ||
    calendar.getUTCDate() !== day
  ) {
    return undefined;
  }
  if (Number(m[4] ?? 0) > 23 || Number(m[5] ?? 0) > 59 || Number(m[6] ?? 0) > 59) return undefined;
  if (Number(m[7] ?? 0) > 23 || Number(m[8] ?? 0) > 59) return undefined;
  const ms = Date.parse(text.toUpperCase());
  return Number.isNaN(ms) ? undefined : ms;
}

/** ISO-8601 UTC text of an epoch-ms instant, as every admin response spells timestamps. */
export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}
