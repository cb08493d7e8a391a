import { GatewayError } from '@switchyard/core';
import { parseJsonOrNull } from '../../canonical/json-fields.js';

/** OpenAI's error body: `{error: {message, type, param, code}}`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Renders any error in OpenAI's shape; unknown errors become a generic 500 without details. */
export function renderOpenAIError(err: unknown): { status: number; body: OpenAIErrorBody } {
  if (err instanceof GatewayError) {
    return {
      status: err.status,
      body: { error: { message: err.message, type: err.type, param: err.param, code: err.code } },
    };
  }
  return {
    status: 500,
    body: {
      error: {
        message: 'The gateway hit an internal error.',
        type: 'api_error',
        param: null,
        code: 'internal_error',
      },
    },
  };
}

/**
 * The human message of an OpenAI-style error body (`{error: {message}}`; some compatible hosts send
 * `{error: "text"}` or `{message}`), or null when the text carries none.
 */
export function openaiErrorMessage(text: string): string | null {
  let body = parseJsonOrNull(text);
  if (Array.isArray(body)) body = body[0];
  if (body === null || typeof body !== 'object') return null;
  const { error, message } = body as { error?: unknown; message?: unknown };
  if (typeof error === 'string' && error !== '') return error;
  if (error !== null && typeof error === 'object') {
    const m = (error as { message?: unknown }).message;
    if (typeof m === 'string' && m !== '') return m;
  }
  return typeof message === 'string' && message !== '' ? message : null;
}
