import { GatewayError } from '@switchyard/core';
import { isObject, parseJsonOrNull } from '../../canonical/json-fields.js';

/** Anthropic's error body: `{type: "error", error: {type, message}}`. */
export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

/** Anthropic `error.type` for an HTTP status (the table in CONVERSION.md, Errors). */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 402:
      return 'billing_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
      return 'overloaded_error';
    default:
      return status >= 400 && status < 500 ? 'invalid_request_error' : 'api_error';
  }
}

/** Renders any error in Anthropic's shape; unknown errors become a generic 500 without details. */
export function renderAnthropicError(err: unknown): { status: number; body: AnthropicErrorBody } {
  if (err instanceof GatewayError) {
    return {
      status: err.status,
      body: { type: 'error', error: { type: anthropicErrorType(err.status), message: err.message } },
    };
  }
  return {
    status: 500,
    body: { type: 'error', error: { type: 'api_error', message: 'The gateway hit an internal error.' } },
  };
}

/** The `error.message` of an Anthropic error body, or null when the body is not one. */
export function anthropicErrorMessage(body: string): string | null {
  const v = parseJsonOrNull(body);
  if (!isObject(v) || !isObject(v.error)) return null;
  return typeof v.error.message === 'string' ? v.error.message : null;
}
