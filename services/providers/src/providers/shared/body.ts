/** A shallow copy of `body` without `keys` (the same object when it has none of them). */
export function withoutKeys(body: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  if (!keys.some((k) => k in body)) return body;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (!keys.includes(k)) out[k] = v;
  return out;
}
