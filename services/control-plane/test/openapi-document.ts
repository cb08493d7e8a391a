import { readFileSync } from 'node:fs';
import { type JsonSchema, resolveRef } from './json-schema-check.js';

/** services/control-plane/openapi.json, parsed: the root that checkSchema resolves refs against. */
export const OPENAPI = JSON.parse(
  readFileSync(new URL('../openapi.json', import.meta.url), 'utf8'),
) as JsonSchema;

/** `#/components/schemas/{name}`. */
export function componentSchema(name: string): JsonSchema {
  return resolveRef(`#/components/schemas/${name}`, OPENAPI);
}

/** The JSON schema of `METHOD path`'s `status` response, refs to components/responses resolved. */
export function responseSchema(method: string, path: string, status: string): JsonSchema {
  const paths = OPENAPI.paths as Record<string, Record<string, { responses: Record<string, JsonSchema> }>>;
  const operation = paths[path]?.[method.toLowerCase()];
  if (operation === undefined) throw new Error(`${method} ${path} is not documented`);
  let response = operation.responses[status];
  if (response === undefined) throw new Error(`${method} ${path} documents no ${status} response`);
  if (typeof response.$ref === 'string') response = resolveRef(response.$ref, OPENAPI);
  const content = response.content as Record<string, { schema: JsonSchema }>;
  const schema = content['application/json']?.schema;
  if (schema === undefined) throw new Error(`${method} ${path} ${status} has no JSON schema`);
  return schema;
}

/** The JSON schema of `METHOD path`'s request body. */
export function requestSchema(method: string, path: string): JsonSchema {
  const paths = OPENAPI.paths as Record<
    string,
    Record<string, { requestBody: { content: Record<string, { schema: JsonSchema }> } }>
  >;
  const schema = paths[path]?.[method.toLowerCase()]?.requestBody.content['application/json']?.schema;
  if (schema === undefined) throw new Error(`${method} ${path} has no request schema`);
  return schema;
}
