/**
 * The one catalogue of gateway failures. Every error that can reach a client is a GatewayError with a
 * stable string `code`, an HTTP `status` and the OpenAI error `type` it renders as; the edge renderer
 * in the relay turns it into the caller's wire shape. Anything else is an unexpected fault and is
 * rendered as a generic 500 without details.
 */
export class GatewayError extends Error {
  readonly code: string;
  readonly status: number;
  /** OpenAI error `type` (invalid_request_error, authentication_error, ...). */
  readonly type: string;
  /** The offending request parameter, when there is one (OpenAI's `param`). */
  readonly param: string | null;

  constructor(
    message: string,
    opts: { code: string; status: number; type: string; param?: string | null; cause?: unknown },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.status = opts.status;
    this.type = opts.type;
    this.param = opts.param ?? null;
  }
}

export class InvalidRequestError extends GatewayError {
  constructor(message: string, opts: { code?: string; param?: string | null; cause?: unknown } = {}) {
    super(message, {
      code: opts.code ?? 'invalid_request',
      status: 400,
      type: 'invalid_request_error',
      ...opts,
    });
  }
}

export class AuthenticationError extends GatewayError {
  constructor(message = 'Invalid API key provided.', code = 'invalid_api_key') {
    super(message, { code, status: 401, type: 'authentication_error' });
  }
}

export class PermissionDeniedError extends GatewayError {
  constructor(message: string, code = 'permission_denied') {
    super(message, { code, status: 403, type: 'permission_error' });
  }
}

export class NotFoundError extends GatewayError {
  constructor(message: string, code = 'not_found', param: string | null = null) {
    super(message, { code, status: 404, type: 'invalid_request_error', param });
  }
}

export class ModelNotFoundError extends NotFoundError {
  constructor(model: string) {
    super(`The model '${model}' does not exist or no channel serves it.`, 'model_not_found', 'model');
  }
}

export class PayloadTooLargeError extends GatewayError {
  constructor(limitBytes: number) {
    super(`Request body exceeds the limit of ${limitBytes} bytes.`, {
      code: 'request_too_large',
      status: 413,
      type: 'invalid_request_error',
    });
  }
}

export class RateLimitedError extends GatewayError {
  readonly retryAfterMs: number | null;
  constructor(
    message: string,
    retryAfterMs: number | null = null,
    cause?: unknown,
    code = 'rate_limit_exceeded',
  ) {
    super(message, { code, status: 429, type: 'rate_limit_error', cause });
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The key's or its user's balance cannot cover the request's hold. 402, so SDKs do not retry a request
 * that only a top-up can let through; OpenAI's `insufficient_quota` type and code.
 */
export class QuotaExceededError extends GatewayError {
  constructor(message: string, code = 'insufficient_quota') {
    super(message, { code, status: 402, type: 'insufficient_quota' });
  }
}

/** A failed upstream attempt. `retryable` failures move the request on to the next candidate. */
export class UpstreamError extends GatewayError {
  readonly retryable: boolean;
  /** The upstream's HTTP status, or null for a connection-level failure. */
  readonly upstreamStatus: number | null;
  /** How long the failing account should rest, when the upstream said (Retry-After). */
  readonly cooldownMs: number | null;
  constructor(
    message: string,
    opts: {
      retryable: boolean;
      upstreamStatus?: number | null;
      cooldownMs?: number | null;
      status?: number;
      code?: string;
      cause?: unknown;
    },
  ) {
    super(message, {
      code: opts.code ?? 'upstream_error',
      status: opts.status ?? 502,
      type: 'api_error',
      cause: opts.cause,
    });
    this.retryable = opts.retryable;
    this.upstreamStatus = opts.upstreamStatus ?? null;
    this.cooldownMs = opts.cooldownMs ?? null;
  }
}

export class UpstreamTimeoutError extends UpstreamError {
  constructor(message: string, cause?: unknown) {
    super(message, { retryable: true, status: 504, code: 'upstream_timeout', cause });
  }
}

export class NoHealthyUpstreamError extends GatewayError {
  /** When the first account left out (cooling down, breaker open) becomes usable again, if known. */
  readonly retryAfterMs: number | null;
  constructor(model: string, retryAfterMs: number | null = null) {
    super(
      retryAfterMs === null
        ? `No healthy upstream is available for model '${model}'.`
        : `No healthy upstream is available for model '${model}': every account is cooling down or failing; retry later.`,
      { code: 'no_healthy_upstream', status: 503, type: 'api_error' },
    );
    this.retryAfterMs = retryAfterMs;
  }
}

export class InternalError extends GatewayError {
  constructor(cause?: unknown) {
    super('The gateway hit an internal error.', {
      code: 'internal_error',
      status: 500,
      type: 'api_error',
      cause,
    });
  }
}

/**
 * The upstream refused the request itself (a non-retryable 4xx) while the gateway was converting
 * between formats: its status and message are relayed in the caller's format.
 */
export class UpstreamRejectedError extends GatewayError {
  readonly upstreamStatus: number;
  constructor(upstreamStatus: number, message: string) {
    super(message, {
      code: `upstream_http_${upstreamStatus}`,
      status: upstreamStatus,
      type: errorTypeForStatus(upstreamStatus),
    });
    this.upstreamStatus = upstreamStatus;
  }
}

/** OpenAI's error `type` for an HTTP status. */
export function errorTypeForStatus(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}
