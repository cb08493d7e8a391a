import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  InvalidRequestError,
  ModelNotFoundError,
  PermissionDeniedError,
  matchesAnyModel,
  type KeyRecord,
} from '@switchyard/core';
import type { ClientFormat } from '@switchyard/providers';
import { parseJsonObject, readBody } from './body-reader.js';
import { clientAddress } from './client-address.js';
import { admitCaller } from './tenancy.js';
import type { RelayContext } from './relay-context.js';
import type { RequestState } from './request-state.js';
import { headerValue } from './header-value.js';

/** A request for a model that the caller may use and some channel serves. */
export interface AdmittedRequest {
  key: KeyRecord;
  body: Record<string, unknown>;
  model: string;
}

/**
 * The start of every model request: authenticate the caller, read the JSON body, take the model
 * (from the URL for Gemini, else the body), run the route's own body checks, then check that the key
 * may use the model and that a channel of its group serves it, and, for billed routes, take the
 * request's hold and rate-limit slots. Fills the request state as it goes.
 */
export async function admitModelRequest(
  ctx: RelayContext,
  req: IncomingMessage,
  res: ServerResponse,
  state: RequestState,
  opts: {
    pathModel?: string | null;
    queryKey?: string | null;
    validate?: (body: Record<string, unknown>) => void;
    /** The client format of a billed route: its request counts against the caller's quota and limits. */
    limits?: ClientFormat;
  } = {},
): Promise<AdmittedRequest> {
  const { key, user } = ctx.auth.authenticate(
    req.headers,
    Date.now(),
    opts.queryKey ?? null,
    clientAddress(req, ctx.trustedProxies),
  );
  state.key = key;
  state.user = user;
  const body = parseJsonObject(await readBody(req, ctx.options.bodyLimitBytes));
  const model = opts.pathModel ?? body.model;
  if (typeof model !== 'string' || model === '') {
    throw new InvalidRequestError("'model' is required and must be a non-empty string.", { param: 'model' });
  }
  state.model = model;
  opts.validate?.(body);
  if (key.models !== null && !matchesAnyModel(key.models, model)) {
    throw new PermissionDeniedError(`This API key may not use the model '${model}'.`, 'model_not_allowed');
  }
  if (!ctx.routing.serves(model, key)) throw new ModelNotFoundError(model);
  state.modelLabel = model;
  if (opts.limits !== undefined) {
    state.hold = await admitCaller(ctx, res, state, { key, user }, opts.limits, body, model);
  }
  return { key, body, model };
}

/** Client headers a provider may forward (see UpstreamCall.clientHeaders). */
const FORWARDED_HEADERS = ['anthropic-version', 'anthropic-beta'] as const;

export function forwardedHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of FORWARDED_HEADERS) {
    const v = headerValue(req.headers[h]);
    if (v !== undefined) out[h] = v;
  }
  return out;
}
