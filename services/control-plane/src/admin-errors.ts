import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { GatewayError, InvalidRequestError, NotFoundError, PayloadTooLargeError } from '@switchyard/core';

/** The OpenAI-style error body every admin error uses. */
export interface AdminErrorBody {
  error: { message: string; type: string; code: string; param?: string };
}

/** Body-parser's errors carry a `type` such as `entity.parse.failed` and an HTTP status. */
interface BodyParserError {
  type: string;
  status: number;
  expose: boolean;
  limit?: number;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as Record<string, unknown>;
  return typeof e.type === 'string' && typeof e.status === 'number' && typeof e.expose === 'boolean';
}

/** Maps any thrown value to the GatewayError the client sees, or null for an unexpected fault. */
function toGatewayError(err: unknown): GatewayError | null {
  if (err instanceof GatewayError) return err;
  if (isBodyParserError(err)) {
    if (err.type === 'entity.parse.failed') {
      return new InvalidRequestError('The request body is not valid JSON.', { code: 'invalid_json' });
    }
    if (err.type === 'entity.too.large') return new PayloadTooLargeError(err.limit ?? 0);
    if (err.expose && err.status >= 400 && err.status < 500) {
      return new GatewayError('The request body could not be read.', {
        code: 'invalid_body',
        status: err.status,
        type: 'invalid_request_error',
      });
    }
  }
  return null;
}

/** Renders errors as `{error:{message,type,code,param?}}`; unknown faults become a logged, generic 500. */
export function adminErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    let known = toGatewayError(err);
    if (known === null) {
      logger.error({ err, method: req.method, path: req.path }, 'admin request failed');
      known = new GatewayError('The control plane hit an internal error.', {
        code: 'internal_error',
        status: 500,
        type: 'api_error',
      });
    }
    const body: AdminErrorBody = { error: { message: known.message, type: known.type, code: known.code } };
    if (known.param !== null) body.error.param = known.param;
    if (known.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
    res.status(known.status).json(body);
  };
}

/** The last handler of the router: any path it does not know is a 404 in the same error shape. */
export const adminNotFound: RequestHandler = (req, _res, next) => {
  next(new NotFoundError(`No admin route ${req.method} ${req.path}.`, 'route_not_found'));
};

/**
 * Validates `input` with `schema`, or throws a 400 naming the first offending field (`param` is its
 * dotted path, e.g. `accounts.0.api_key`).
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: 'body' | 'query',
): z.output<S> {
  if (what === 'body' && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw new InvalidRequestError(
      'The request body must be a JSON object (Content-Type: application/json).',
      {
        code: 'invalid_body',
      },
    );
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new InvalidRequestError('The request is invalid.');
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  const param = path.join('.');
  const message =
    issue.code === 'unrecognized_keys'
      ? `Unknown field '${param}'.`
      : valueAt(input, issue.path) === undefined && issue.code === 'invalid_type'
        ? `'${param}' is required.`
        : `'${param}': ${issue.message}`;
  throw new InvalidRequestError(message, { param: param === '' ? null : param });
}

/** The value at a zod issue's path in the parsed input, undefined when absent. */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
