import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { sendJson } from './send-json.js';

/** Which API's error body a route answers with. */
export type WireShape = 'openai' | 'anthropic';

const OPENAI_ERRORS: Readonly<Record<number, readonly [type: string, code: string | null]>> = {
  400: ['invalid_request_error', null],
  401: ['invalid_request_error', 'invalid_api_key'],
  403: ['invalid_request_error', 'permission_denied'],
  404: ['invalid_request_error', 'not_found'],
  408: ['timeout', 'timeout'],
  413: ['invalid_request_error', 'request_too_large'],
  429: ['requests', 'rate_limit_exceeded'],
  500: ['server_error', null],
  502: ['server_error', 'bad_gateway'],
  503: ['server_error', 'service_unavailable'],
  504: ['server_error', 'timeout'],
};

const ANTHROPIC_ERRORS: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

/** OpenAI: `{error:{message,type,code}}`; Anthropic: `{type:"error",error:{type,message}}`. */
export function errorBody(shape: WireShape, status: number, message: string): unknown {
  if (shape === 'anthropic') {
    const type = ANTHROPIC_ERRORS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
    return { type: 'error', error: { type, message } };
  }
  const [type, code] = OPENAI_ERRORS[status] ?? [
    status >= 500 ? 'server_error' : 'invalid_request_error',
    null,
  ];
  return { error: { message, type, code } };
}

/** Sends an error response in the route's wire shape; a 429 also gets `retry-after: 1`. */
export function sendError(
  res: ServerResponse,
  shape: WireShape,
  status: number,
  message: string,
  headers?: OutgoingHttpHeaders,
): void {
  const extra = status === 429 ? { ...headers, 'retry-after': '1' } : headers;
  sendJson(res, status, errorBody(shape, status, message), extra);
}
