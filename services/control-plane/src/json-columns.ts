/**
 * Readers for the JSON text columns (both dialects store JSON as text). A malformed value is a
 * corrupt row, not a client mistake, so these throw plain errors that surface as 500s.
 */

/** Parses a JSON text column holding an array of strings (model lists). */
export function parseStringArray(text: string): string[] {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new Error('expected a JSON array of strings');
  }
  return value;
}

/** Parses a JSON text column holding an object of string values (model mappings). */
export function parseStringRecord(text: string): Record<string, string> {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('expected a JSON object of strings');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new Error('expected a JSON object of strings');
    out[k] = v;
  }
  return out;
}
