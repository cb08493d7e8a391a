import type { IncomingMessage, ServerResponse } from 'node:http';
import { ModelNotFoundError, matchesAnyModel } from '@switchyard/core';
import { clientAddress } from './client-address.js';
import type { RelayContext } from './relay-context.js';
import type { RequestState } from './request-state.js';
import { sendJson } from './response-writer.js';

/** The wire shape a model list is rendered in. */
export type ModelListShape = 'openai' | 'anthropic' | 'gemini';

/** The exact models the presented key may use. */
function allowedModels(
  ctx: RelayContext,
  req: IncomingMessage,
  state: RequestState,
  key: string | null,
): string[] {
  const caller = ctx.auth.authenticate(req.headers, Date.now(), key, clientAddress(req, ctx.trustedProxies));
  const record = caller.key;
  state.key = record;
  state.user = caller.user;
  return ctx.routing
    .listModels(record.group)
    .filter((id) => record.models === null || matchesAnyModel(record.models, id));
}

/**
 * `GET /v1/models` (OpenAI's list, or Anthropic's when the client sends `anthropic-version`),
 * `GET /v1/models/{id}`, and Gemini's `GET /v1beta/models[/{id}]`.
 */
export function handleModels(
  ctx: RelayContext,
  req: IncomingMessage,
  res: ServerResponse,
  state: RequestState,
  shape: ModelListShape,
  id: string | null,
  queryKey: string | null,
): void {
  const models = allowedModels(ctx, req, state, queryKey);
  const now = Date.now();
  const render = (m: string): unknown => {
    if (shape === 'anthropic') {
      return { type: 'model', id: m, display_name: m, created_at: new Date(0).toISOString() };
    }
    if (shape === 'gemini') {
      return {
        name: `models/${m}`,
        baseModelId: m,
        version: '001',
        displayName: m,
        supportedGenerationMethods: ['generateContent', 'streamGenerateContent'],
      };
    }
    return { id: m, object: 'model', created: Math.floor(now / 1000), owned_by: 'switchyard' };
  };
  if (id !== null) {
    const name = shape === 'gemini' && id.startsWith('models/') ? id.slice('models/'.length) : id;
    if (!models.includes(name)) throw new ModelNotFoundError(name);
    sendJson(res, 200, render(name));
    return;
  }
  if (shape === 'anthropic') {
    sendJson(res, 200, {
      data: models.map(render),
      has_more: false,
      first_id: models[0] ?? null,
      last_id: models.at(-1) ?? null,
    });
  } else if (shape === 'gemini') {
    sendJson(res, 200, { models: models.map(render) });
  } else {
    sendJson(res, 200, { object: 'list', data: models.map(render) });
  }
}
