import { GatewayError, UpstreamError } from '@switchyard/core';
import { isObject, parseJsonOrNull } from '../../canonical/json-fields.js';
import type { GeminiErrorBody } from './types.js';

/** Gemini's `error.status` (a google.rpc code name) for an HTTP status (CONVERSION.md, Errors). */
export function geminiStatus(status: number): string {
  switch (status) {
    case 400:
    case 413:
      return 'INVALID_ARGUMENT';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'NOT_FOUND';
    case 402:
    case 429:
      return 'RESOURCE_EXHAUSTED';
    case 503:
      return 'UNAVAILABLE';
    case 504:
      return 'DEADLINE_EXCEEDED';
    default:
      return status >= 400 && status < 500 ? 'INVALID_ARGUMENT' : 'INTERNAL';
  }
}

/** Renders any error in Gemini's shape; unknown errors become a generic 500 without details. */
export function renderGeminiError(err: unknown): { status: number; body: GeminiErrorBody } {
  if (err instanceof GatewayError) {
    return {
      status: err.status,
      body: { error: { code: err.status, message: err.message, status: geminiStatus(err.status) } },
    };
  }
  return {
    status: 500,
    body: { error: { code: 500, message: 'The gateway hit an internal error.', status: 'INTERNAL' } },
  };
}

/**
 * The `error.message` of a Gemini error body, or null when the body is not one. A stream without
 * `alt=sse` reports errors as a one-element JSON array, which is read too.
 */
export function geminiErrorMessage(body: string): string | null {
  const v = parseJsonOrNull(body);
  const o: unknown = Array.isArray(v) ? v[0] : v;
  if (!isObject(o) || !isObject(o.error)) return null;
  return typeof o.error.message === 'string' ? o.error.message : null;
}

/** HTTP statuses worth another candidate when Gemini reports them inside a stream. */
const RETRYABLE = new Set([429, 500, 503, 504]);

/** The error for an `{"error": ...}` chunk inside a Gemini stream. */
export function geminiStreamError(error: unknown): UpstreamError {
  const e = isObject(error) ? error : {};
  const code = typeof e.code === 'number' ? e.code : null;
  const message = typeof e.message === 'string' ? e.message : 'unknown error';
  return new UpstreamError(`The Gemini upstream stream failed: ${message}`, {
    retryable: code !== null && RETRYABLE.has(code),
    upstreamStatus: code,
    code: 'upstream_stream_error',
  });
}
