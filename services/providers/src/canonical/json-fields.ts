import { InvalidRequestError } from '@switchyard/core';

/** Small readers for request bodies: each throws an InvalidRequestError naming the parameter. */

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function invalid(param: string, message: string): InvalidRequestError {
  return new InvalidRequestError(`'${param}': ${message}`, { param });
}

export function optString(o: JsonObject, key: string, param = key): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw invalid(param, 'must be a string.');
  return v;
}

export function reqString(o: JsonObject, key: string, param = key): string {
  const v = o[key];
  if (typeof v !== 'string') throw invalid(param, 'is required and must be a string.');
  return v;
}

export function optNumber(
  o: JsonObject,
  key: string,
  param = key,
  range?: { min?: number; max?: number },
): number | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(param, 'must be a number.');
  if (range?.min !== undefined && v < range.min) throw invalid(param, `must be at least ${range.min}.`);
  if (range?.max !== undefined && v > range.max) throw invalid(param, `must be at most ${range.max}.`);
  return v;
}

export function optInt(o: JsonObject, key: string, param = key, min = 0): number | null {
  const v = optNumber(o, key, param);
  if (v === null) return null;
  if (!Number.isInteger(v)) throw invalid(param, 'must be an integer.');
  if (v < min) throw invalid(param, `must be at least ${min}.`);
  return v;
}

export function optBoolean(o: JsonObject, key: string, param = key): boolean | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'boolean') throw invalid(param, 'must be a boolean.');
  return v;
}

export function optObject(o: JsonObject, key: string, param = key): JsonObject | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw invalid(param, 'must be an object.');
  return v;
}

export function optArray(o: JsonObject, key: string, param = key): unknown[] | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw invalid(param, 'must be an array.');
  return v;
}

/** A string or an array of strings (OpenAI `stop`), as an array. */
export function stringList(o: JsonObject, key: string, param = key): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  throw invalid(param, 'must be a string or an array of strings.');
}

/** Parses JSON text that must be an object (tool-call arguments); `{}` for empty text. */
export function parseArguments(text: string): JsonObject {
  if (text.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : { value: v };
  } catch {
    return { _raw: text };
  }
}

/**
 * Tool-call arguments as the object a request format wants (Anthropic `input`, Gemini `args`,
 * Converse `input`): `{}` for empty text; text that is not a JSON object is a 400 naming `param`.
 */
export function requireArgumentsObject(json: string, param: string): JsonObject {
  if (json.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw invalid(param, 'a tool call has arguments that are not valid JSON.');
  }
  if (!isObject(v)) throw invalid(param, 'a tool call has arguments that are not a JSON object.');
  return v;
}

/** Parses JSON text (an upstream error body, say); null when it is not JSON. */
export function parseJsonOrNull(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** A data URL (`data:image/png;base64,....`) split into media type and base64 data; null if not one. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | null {
  const m = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  return m === null ? null : { mediaType: m[1]!, data: m[2]! };
}

/** One SSE event as text: `event:` line when named, one `data:` line, blank line. */
export function sseEvent(name: string | null, data: unknown): string {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  return name === null ? `data: ${text}\n\n` : `event: ${name}\ndata: ${text}\n\n`;
}
