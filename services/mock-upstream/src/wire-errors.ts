import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { sendJson } from './send-json.js';

/**
 * Which API's error body a route answers with: OpenAI's (also Azure's), Anthropic's, Google's
 * (Gemini, Vertex) or AWS's (Bedrock).
 */
export type WireShape = 'openai' | 'anthropic' | 'google' | 'aws';

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

/** google.rpc.Code names, as Google APIs put them in `error.status`. */
const GOOGLE_STATUSES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  502: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** Bedrock runtime exception names (the `x-amzn-errortype` header). */
const AWS_ERRORS: Readonly<Record<number, string>> = {
  400: 'ValidationException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  424: 'ModelErrorException',
  429: 'ThrottlingException',
  500: 'InternalServerException',
  503: 'ServiceUnavailableException',
};

/** The google.rpc.Code name for an HTTP status. */
export function googleStatus(status: number): string {
  return GOOGLE_STATUSES[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION');
}

/** The Bedrock exception name for an HTTP status. */
export function awsErrorType(status: number): string {
  return AWS_ERRORS[status] ?? (status >= 500 ? 'InternalServerException' : 'ValidationException');
}

/**
 * OpenAI: `{error:{message,type,code}}`; Anthropic: `{type:"error",error:{type,message}}`; Google:
 * `{error:{code,message,status}}`; AWS: `{message}`.
 */
export function errorBody(shape: WireShape, status: number, message: string): unknown {
  if (shape === 'anthropic') {
    const type = ANTHROPIC_ERRORS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
    return { type: 'error', error: { type, message } };
  }
  if (shape === 'google') return { error: { code: status, message, status: googleStatus(status) } };
  if (shape === 'aws') return { message };
  const [type, code] = OPENAI_ERRORS[status] ?? [
    status >= 500 ? 'server_error' : 'invalid_request_error',
    null,
  ];
  return { error: { message, type, code } };
}

/**
 * Sends an error response in the route's wire shape; a 429 also gets `retry-after: 1`, an AWS one
 * `x-amzn-errortype` (which `headers` may override).
 */
export function sendError(
  res: ServerResponse,
  shape: WireShape,
  status: number,
  message: string,
  headers?: OutgoingHttpHeaders,
): void {
  const extra: OutgoingHttpHeaders = {};
  if (shape === 'aws') extra['x-amzn-errortype'] = awsErrorType(status);
  if (status === 429) extra['retry-after'] = '1';
  // Anthropic answers 529 "overloaded_error" when it sheds load.
  sendJson(res, status, errorBody(shape, status, message), { ...extra, ...headers });
}
