import {
  AuthenticationError,
  GatewayError,
  InvalidRequestError,
  ModelNotFoundError,
  NoHealthyUpstreamError,
  PayloadTooLargeError,
  PermissionDeniedError,
  QuotaExceededError,
  RateLimitedError,
  UpstreamError,
  UpstreamTimeoutError,
} from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { anthropicClientCodec, anthropicUpstreamCodec } from './index.js';

describe('Anthropic error rendering', () => {
  const cases: Array<[GatewayError, number, string]> = [
    [new InvalidRequestError('bad', { param: 'x' }), 400, 'invalid_request_error'],
    [new AuthenticationError(), 401, 'authentication_error'],
    [new PermissionDeniedError('no'), 403, 'permission_error'],
    [new ModelNotFoundError('m'), 404, 'not_found_error'],
    [new PayloadTooLargeError(10), 413, 'request_too_large'],
    [new QuotaExceededError('top up'), 402, 'billing_error'],
    [new RateLimitedError('slow down'), 429, 'rate_limit_error'],
    [new GatewayError('boom', { code: 'x', status: 500, type: 'api_error' }), 500, 'api_error'],
    [new UpstreamError('bad gateway', { retryable: false }), 502, 'api_error'],
    [new NoHealthyUpstreamError('m'), 503, 'overloaded_error'],
    [new UpstreamTimeoutError('slow'), 504, 'api_error'],
  ];
  for (const [err, status, type] of cases) {
    it(`when a ${err.name} (${status}) is rendered, then the Anthropic type is ${type}`, () => {
      expect(anthropicClientCodec.renderError(err)).toEqual({
        status,
        body: { type: 'error', error: { type, message: err.message } },
      });
    });
  }
  it('when an unknown error is rendered, then it is a generic 500 without its details', () => {
    const out = anthropicClientCodec.renderError(new Error('secret connection string'));
    expect(out).toEqual({
      status: 500,
      body: { type: 'error', error: { type: 'api_error', message: 'The gateway hit an internal error.' } },
    });
  });
});

describe('Anthropic upstream error messages', () => {
  it('when the body is an Anthropic error, then its message is returned', () => {
    const body = JSON.stringify({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
    expect(anthropicUpstreamCodec.errorMessage(body)).toBe('Overloaded');
  });
  it('when the body is not JSON or has no error message, then it is null', () => {
    expect(anthropicUpstreamCodec.errorMessage('<html>502</html>')).toBeNull();
    expect(anthropicUpstreamCodec.errorMessage('{"error":"x"}')).toBeNull();
  });
});
