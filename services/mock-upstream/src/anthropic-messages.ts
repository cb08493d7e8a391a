import { anthropicMessage, anthropicStreamEvents } from './anthropic-answer.js';
import { expectedCompletion, promptTokensOf } from './deterministic-completion.js';
import type { RouteRequest } from './route-request.js';
import { awaitFirstByte } from './route-request.js';
import { sendJson } from './send-json.js';
import { namedEvent, streamSse } from './sse-stream.js';
import { sendError } from './wire-errors.js';

const DEFAULT_MODEL = 'claude-sonnet-4-5';

/** How a host that wraps the Messages API (Vertex rawPredict) differs from Anthropic's own route. */
export interface AnthropicMessagesFlavor {
  /** The answer's `model` (Vertex: from the URL); default: the body's `model`. */
  model?: string;
  /** Streaming decided by the route (`:streamRawPredict`) instead of the body's `stream`. */
  stream?: boolean;
}

/** `POST /v1/messages`: the deterministic echo completion in Anthropic's Messages shape. */
export async function handleAnthropicMessages(
  r: RouteRequest,
  flavor: AnthropicMessagesFlavor = {},
): Promise<void> {
  const { ctx, body, faults } = r;
  if (!Array.isArray(body.messages)) {
    sendError(ctx.res, 'anthropic', 400, 'messages: Field required');
    return;
  }
  const expected = expectedCompletion(body, r.defaultChunks);
  const n = r.nextId();
  const opts = {
    id: `msg_mock_${n}`,
    model: flavor.model ?? (typeof body.model === 'string' ? body.model : DEFAULT_MODEL),
    toolId: `toolu_mock_${n}`,
    cachedTokens: r.cachedTokens,
  };
  if (!(flavor.stream ?? body.stream === true)) {
    if (!(await awaitFirstByte(r))) return;
    sendJson(ctx.res, 200, anthropicMessage(expected, opts));
    return;
  }
  const events = anthropicStreamEvents(expected, opts).map((e) => namedEvent(e.event, e.payload, e.content));
  await streamSse(ctx, events, faults);
}

/** `POST /v1/messages/count_tokens`: the prompt-token rule of the deterministic model. */
export function handleAnthropicCountTokens(r: RouteRequest): void {
  if (!Array.isArray(r.body.messages)) {
    sendError(r.ctx.res, 'anthropic', 400, 'messages: Field required');
    return;
  }
  sendJson(r.ctx.res, 200, { input_tokens: promptTokensOf(r.body) });
}
