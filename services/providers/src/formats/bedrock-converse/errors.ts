import { UpstreamError } from '@switchyard/core';
import { isObject, parseJsonOrNull } from '../../canonical/json-fields.js';

/**
 * The message of a Bedrock error body (`{"message": ...}`; some services and older answers spell it
 * `Message`), or null when the body is not one.
 */
export function converseErrorMessage(body: string): string | null {
  const v = parseJsonOrNull(body);
  if (!isObject(v)) return null;
  if (typeof v.message === 'string') return v.message;
  return typeof v.Message === 'string' ? v.Message : null;
}

/** The HTTP status Bedrock gives each ConverseStream exception, and whether another try may help. */
const EXCEPTIONS: Readonly<Record<string, { status: number; retryable: boolean }>> = {
  throttlingException: { status: 429, retryable: true },
  serviceUnavailableException: { status: 503, retryable: true },
  internalServerException: { status: 500, retryable: true },
  modelStreamErrorException: { status: 424, retryable: false },
  validationException: { status: 400, retryable: false },
};

/** The error for a ConverseStream exception event (`event` ends in `Exception`). */
export function converseStreamError(event: string, data: string): UpstreamError {
  const known = EXCEPTIONS[event];
  const message = converseErrorMessage(data) ?? event;
  return new UpstreamError(`The Bedrock Converse upstream stream failed (${event}): ${message}`, {
    retryable: known?.retryable ?? false,
    upstreamStatus: known?.status ?? null,
    code: 'upstream_stream_error',
  });
}
