/** A positive integer path id (`/channels/:id`), or undefined, which handlers answer with 404. */
export function parsePathId(raw: unknown): number | undefined {
  if (typeof raw !== 'string' || !/^[1-9]\d{0,15}$/.test(raw)) return undefined;
  const id = Number(raw);
  return Number.isSafeInteger(id) ? id : undefined;
}
