import { handleGenerateContent } from './gemini-generate-content.js';
import type { RouteRequest } from './route-request.js';
import { sendJson } from './send-json.js';
import { sendError } from './wire-errors.js';

/** The project loadCodeAssist names for every account (a free-tier account's managed project). */
export const MOCK_CODE_ASSIST_PROJECT = 'mock-code-assist-project';

/**
 * Code Assist's `/v1internal:generateContent` and `:streamGenerateContent`: a Gemini request inside
 * `{model, project, request}`, each answer inside `{"response": ..., "traceId": ...}`.
 */
export async function handleCodeAssistGenerate(r: RouteRequest, stream: boolean): Promise<void> {
  const { body } = r;
  const request = body.request;
  if (typeof body.model !== 'string' || body.model === '') {
    sendError(r.ctx.res, 'google', 400, 'Request contains an invalid argument: model is required.');
    return;
  }
  if (typeof body.project !== 'string' || body.project === '') {
    sendError(r.ctx.res, 'google', 403, 'The caller does not have permission: a project is required.');
    return;
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    sendError(r.ctx.res, 'google', 400, 'Request contains an invalid argument: request is required.');
    return;
  }
  const n = r.nextId();
  await handleGenerateContent(
    { ...r, body: request as Record<string, unknown> },
    { model: body.model, stream },
    (payload) => ({ response: payload, traceId: `mock-trace-${n}` }),
  );
}

/** `/v1internal:loadCodeAssist`: the account's tier and its project. */
export function handleLoadCodeAssist(r: RouteRequest): void {
  sendJson(r.ctx.res, 200, {
    currentTier: { id: 'free-tier', name: 'Gemini Code Assist for individuals' },
    allowedTiers: [{ id: 'free-tier', isDefault: true }],
    cloudaicompanionProject: MOCK_CODE_ASSIST_PROJECT,
  });
}
