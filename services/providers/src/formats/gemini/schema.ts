import { isObject } from '../../canonical/json-fields.js';
import type { JsonObject } from '../../canonical/json-fields.js';
import { camelKeys } from './fields.js';

/** Gemini-only keywords of its OpenAPI-subset Schema with no JSON Schema meaning. */
const DROPPED = new Set(['propertyOrdering', 'nullable', 'example']);

/**
 * Gemini's `Schema` (an OpenAPI 3.0 subset: `type: "OBJECT"`, `nullable: true`, ...) as JSON Schema,
 * which the canonical tools and response formats carry: types lower-cased (`TYPE_UNSPECIFIED`
 * dropped), `nullable: true` as a `"null"` member of `type`, `example` as `examples`, and
 * `propertyOrdering` dropped. Sub-schemas (`properties`, `items`, `anyOf`) are converted too; other
 * keywords (`enum`, `format`, `required`, `minimum`, ...) mean the same in both and are kept
 * (snake_case spellings such as `max_items` read as their camelCase JSON Schema names).
 */
export function geminiSchemaToJsonSchema(given: JsonObject): JsonObject {
  const schema = camelKeys(given);
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED.has(key)) continue;
    if (key === 'type') {
      if (typeof value === 'string' && value !== 'TYPE_UNSPECIFIED') out.type = value.toLowerCase();
    } else if (key === 'properties' && isObject(value)) {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [
          name,
          isObject(sub) ? geminiSchemaToJsonSchema(sub) : sub,
        ]),
      );
    } else if (key === 'items' && isObject(value)) {
      out.items = geminiSchemaToJsonSchema(value);
    } else if (key === 'anyOf' && Array.isArray(value)) {
      out.anyOf = value.map((sub) => (isObject(sub) ? geminiSchemaToJsonSchema(sub) : sub));
    } else {
      out[key] = value;
    }
  }
  if (schema.example !== undefined) out.examples = [schema.example];
  if (schema.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (out.anyOf !== undefined) out.anyOf = [...(out.anyOf as unknown[]), { type: 'null' }];
  }
  return out;
}
