import type { IncomingMessage } from 'node:http';
import {
  InvalidRequestError,
  ModelNotFoundError,
  PermissionDeniedError,
  matchesAnyModel,
  type KeyRecord,
} from '@switchyard/core';
import { parseJsonObject, readBody } from './body-reader.js';
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
 * may use the model and that a channel of its group serves it. Fills the request state as it goes.
 */
export async function admitModelRequest(
  ctx: RelayContext,
  req: IncomingMessage,
  state: RequestState,
  opts: {
    pathModel?: string | null;
    queryKey?: string | null;
    validate?: (body: Record<string, unknown>) => void;
  } = {},
): Promise<AdmittedRequest> {
  const key = ctx.auth.authenticate(req.headers, Date.now(), opts.queryKey ?? null);
  state.key = key;
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
