/**
 * A small JSON Schema checker for the subset openapi.json uses: $ref (local), type (one or an array,
 * so `["string","null"]` expresses nullable), properties, required, additionalProperties (false or a
 * schema), items, enum, minimum/maximum, minItems/maxItems, minLength/maxLength and format date-time.
 * Any other validation keyword throws, so the document cannot silently outgrow what the tests check.
 */
export type JsonSchema = Record<string, unknown>;

const ANNOTATIONS = new Set([
  'description',
  'title',
  'default',
  'examples',
  'writeOnly',
  'readOnly',
  'format',
]);
const SUPPORTED = new Set([
  '$ref',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
]);

/** Returns one message per violation (empty when `value` conforms); `root` resolves `#/...` refs. */
export function checkSchema(value: unknown, schema: JsonSchema, root: JsonSchema, path = '$'): string[] {
  for (const keyword of Object.keys(schema)) {
    if (!SUPPORTED.has(keyword) && !ANNOTATIONS.has(keyword)) {
      throw new Error(`schema keyword '${keyword}' at ${path} is not supported by the test checker`);
    }
  }
  if (typeof schema.$ref === 'string') return checkSchema(value, resolveRef(schema.$ref, root), root, path);

  const errors: string[] = [];
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => hasType(value, String(t)))) {
      return [`${path}: expected ${types.join(' | ')}, got ${JSON.stringify(value)}`];
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${path}: below minimum`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errors.push(`${path}: above maximum`);
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength)
      errors.push(`${path}: too short`);
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength)
      errors.push(`${path}: too long`);
    if (
      schema.format === 'date-time' &&
      !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)
    ) {
      errors.push(`${path}: ${JSON.stringify(value)} is not an RFC 3339 date-time`);
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems)
      errors.push(`${path}: too few items`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems)
      errors.push(`${path}: too many items`);
    if (isSchema(schema.items)) {
      const items = schema.items;
      value.forEach((item, i) => errors.push(...checkSchema(item, items, root, `${path}[${i}]`)));
    }
  }
  if (isPlainObject(value)) {
    const properties = isSchema(schema.properties) ? schema.properties : {};
    if (Array.isArray(schema.required)) {
      for (const name of schema.required) {
        if (!(String(name) in value)) errors.push(`${path}: missing required property '${String(name)}'`);
      }
    }
    for (const [name, child] of Object.entries(value)) {
      const propSchema = properties[name];
      if (isSchema(propSchema)) {
        errors.push(...checkSchema(child, propSchema, root, `${path}.${name}`));
      } else if (schema.additionalProperties === false) {
        errors.push(`${path}: property '${name}' is not allowed`);
      } else if (isSchema(schema.additionalProperties)) {
        errors.push(...checkSchema(child, schema.additionalProperties, root, `${path}.${name}`));
      }
    }
  }
  return errors;
}

/** Resolves a local JSON pointer (`#/components/schemas/Channel`) against `root`. */
export function resolveRef(ref: string, root: JsonSchema): JsonSchema {
  if (!ref.startsWith('#/')) throw new Error(`only local refs are supported: ${ref}`);
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    if (!isPlainObject(node)) throw new Error(`unresolvable ref ${ref}`);
    node = node[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  if (!isSchema(node)) throw new Error(`unresolvable ref ${ref}`);
  return node;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return Number.isInteger(value);
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isPlainObject(value);
    default:
      throw new Error(`unknown schema type '${type}'`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSchema(value: unknown): value is JsonSchema {
  return isPlainObject(value);
}
