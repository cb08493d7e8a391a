import type { JsonObject } from '../../canonical/json-fields.js';

/**
 * The Gemini REST API reads proto JSON, so `system_instruction` and `systemInstruction` (or
 * `inline_data`/`mime_type`) mean the same field; the documentation's curl examples use both. This
 * renames one object's snake_case keys to camelCase, one level deep, so the readers look for one
 * spelling. It is applied to Gemini's own structures only, never to user data (function arguments,
 * function responses, schemas), whose keys are names.
 */
export function camelKeys(o: JsonObject): JsonObject {
  let out: JsonObject | null = null;
  for (const key of Object.keys(o)) {
    if (!key.includes('_')) continue;
    const camel = key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
    if (camel === key) continue;
    out ??= { ...o };
    // The camelCase spelling wins when a body (oddly) carries both.
    if (out[camel] === undefined) out[camel] = o[key];
    delete out[key];
  }
  return out ?? o;
}
