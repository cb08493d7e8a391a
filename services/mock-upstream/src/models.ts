import type { RouteRequest } from './route-request.js';
import { sendJson } from './send-json.js';
import { sendError } from './wire-errors.js';

/** The models `GET /v1/models` lists. */
export const MOCK_MODELS: readonly string[] = [
  'gpt-4o',
  'gpt-4o-mini',
  'text-embedding-3-small',
  'claude-sonnet-4-5',
];

/** Fixed `created` timestamp of every listed model. */
const MODELS_CREATED = 1_700_000_000;

function modelObject(id: string): Record<string, unknown> {
  return { id, object: 'model', created: MODELS_CREATED, owned_by: 'mock' };
}

/** `GET /v1/models`. */
export async function handleListModels(r: RouteRequest): Promise<void> {
  if (!(await r.ctx.sleep(r.faults.firstByteDelayMs ?? 0))) return;
  sendJson(r.ctx.res, 200, { object: 'list', data: MOCK_MODELS.map(modelObject) });
}

/** `GET /v1/models/{id}`. */
export async function handleRetrieveModel(r: RouteRequest, id: string): Promise<void> {
  if (!(await r.ctx.sleep(r.faults.firstByteDelayMs ?? 0))) return;
  if (!MOCK_MODELS.includes(id)) {
    sendError(r.ctx.res, 'openai', 404, `The model '${id}' does not exist`);
    return;
  }
  sendJson(r.ctx.res, 200, modelObject(id));
}
