import type { RouteRequest } from './route-request.js';
import { awaitFirstByte } from './route-request.js';
import { sendJson } from './send-json.js';
import { sendError } from './wire-errors.js';

/** The models `GET /v1beta/models` lists (the gateway catalogue's Gemini defaults). */
export const MOCK_GEMINI_MODELS: readonly string[] = [
  'gemini-2.5-pro',
  'gemini-2.5-flash',
  'gemini-2.0-flash',
];

/** Token limits of the 2.5 family, which the listing reports for every mock model. */
const INPUT_TOKEN_LIMIT = 1_048_576;
const OUTPUT_TOKEN_LIMIT = 65_536;

function displayName(id: string): string {
  return id
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(' ');
}

function modelObject(id: string): Record<string, unknown> {
  return {
    name: `models/${id}`,
    version: '001',
    displayName: displayName(id),
    description: `Mock ${displayName(id)}`,
    inputTokenLimit: INPUT_TOKEN_LIMIT,
    outputTokenLimit: OUTPUT_TOKEN_LIMIT,
    supportedGenerationMethods: ['generateContent', 'countTokens'],
  };
}

/** `GET /v1beta/models`. */
export async function handleListGeminiModels(r: RouteRequest): Promise<void> {
  if (!(await awaitFirstByte(r))) return;
  sendJson(r.ctx.res, 200, { models: MOCK_GEMINI_MODELS.map(modelObject) });
}

/** `GET /v1beta/models/{model}`. */
export async function handleGetGeminiModel(r: RouteRequest, id: string): Promise<void> {
  if (!(await awaitFirstByte(r))) return;
  if (!MOCK_GEMINI_MODELS.includes(id)) {
    sendError(r.ctx.res, 'google', 404, `models/${id} is not found for API version v1beta.`);
    return;
  }
  sendJson(r.ctx.res, 200, modelObject(id));
}
