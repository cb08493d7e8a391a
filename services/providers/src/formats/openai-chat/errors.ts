import { GatewayError } from '@switchyard/core';

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
