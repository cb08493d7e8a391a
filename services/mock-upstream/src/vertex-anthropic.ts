import { handleAnthropicMessages } from './anthropic-messages.js';
import type { RouteRequest } from './route-request.js';
import { sendError } from './wire-errors.js';

/** The `anthropic_version` Vertex requires in a Claude rawPredict body. */
export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';

/** What the URL says about a Vertex `publishers/anthropic` call. */
export interface VertexAnthropicCall {
  model: string;
  /** `:streamRawPredict` rather than `:rawPredict`. */
  stream: boolean;
}

/** The Messages-body rules Vertex adds: anthropic_version "vertex-2023-10-16", max_tokens, no model. */
function invalidBody(body: Record<string, unknown>): string | null {
  if (body.anthropic_version !== VERTEX_ANTHROPIC_VERSION) {
    return `anthropic_version: Input should be '${VERTEX_ANTHROPIC_VERSION}'`;
  }
  if ('model' in body) return 'model: Extra inputs are not permitted (Vertex takes the model from the URL)';
  if (typeof body.max_tokens !== 'number') return 'max_tokens: Field required';
  return null;
}

/**
 * `POST .../publishers/anthropic/models/{model}:rawPredict` and `:streamRawPredict`: Anthropic's
 * Messages answer (SSE for the stream route) for a body without `model`.
 */
export async function handleVertexAnthropic(r: RouteRequest, call: VertexAnthropicCall): Promise<void> {
  const problem = invalidBody(r.body);
  if (problem !== null) {
    sendError(r.ctx.res, 'anthropic', 400, problem);
    return;
  }
  await handleAnthropicMessages(r, { model: call.model, stream: call.stream });
}
