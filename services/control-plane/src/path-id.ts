/** A positive integer path id (`/channels/:id`), or undefined, which handlers answer with 404. */
export function parsePathId(raw: unknown): number | undefined {
  if (typeof raw !== 'string' || !/^[1-9]\d{0,15}$/.test(raw)) return undefined;
  const id = Number(raw);
  return Number.isSafeInteger(id) ? id : undefined;
}

/** The path id; throws `notFound(raw)` (a 404) when `raw` cannot be one. */
export function requirePathId(raw: unknown, notFound: (raw: unknown) => Error): number {
  const id = parsePathId(raw);
  if (id === undefined) throw notFound(raw);
  return id;
}
