import { anthropicMessage, anthropicStreamEvents } from './anthropic-answer.js';
import { encodeEventMessage } from './aws-event-stream.js';
import { expectedCompletion } from './deterministic-completion.js';
import type { ExpectedCompletion } from './deterministic-completion.js';
import { cachedTokensFor } from './expected-wire-fields.js';
import type { RouteRequest } from './route-request.js';
import { awaitFirstByte } from './route-request.js';
import { sendJson } from './send-json.js';
import { streamEvents } from './stream-response.js';
import { sendError } from './wire-errors.js';

/** What the URL says about an InvokeModel call. */
export interface BedrockModelCall {
  /** The decoded `{modelId}` path segment. */
  modelId: string;
  /** `/invoke-with-response-stream` rather than `/invoke`. */
  stream: boolean;
}

/** The `anthropic_version` Bedrock requires in an Anthropic InvokeModel body. */
export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';
/** Response headers of Bedrock's streamed answers. */
export const EVENT_STREAM_HEADERS = { 'content-type': 'application/vnd.amazon.eventstream' } as const;

function malformed(detail: string): string {
  return `Malformed input request: ${detail}, please reformat your input and try again.`;
}

/** The Messages-body rules Bedrock adds: anthropic_version, max_tokens, no model and no stream. */
function invalidBody(body: Record<string, unknown>): string | null {
  if (body.anthropic_version === undefined) return malformed('#: required key [anthropic_version] not found');
  if (body.anthropic_version !== BEDROCK_ANTHROPIC_VERSION) {
    return malformed(`#/anthropic_version: expected "${BEDROCK_ANTHROPIC_VERSION}"`);
  }
  for (const key of ['model', 'stream']) {
    if (key in body) return malformed(`#: extraneous key [${key}] is not permitted`);
  }
  if (!Array.isArray(body.messages)) return malformed('#: required key [messages] not found');
  if (typeof body.max_tokens !== 'number') return malformed('#: required key [max_tokens] not found');
  return null;
}

function invocationMetrics(exp: ExpectedCompletion, cachedTokens: number): Record<string, number> {
  return {
    inputTokenCount: exp.promptTokens - cachedTokensFor(exp, cachedTokens),
    outputTokenCount: exp.completionTokens,
    invocationLatency: 0,
    firstByteLatency: 0,
  };
}

/**
 * `POST /model/{modelId}/invoke` and `/invoke-with-response-stream` with an Anthropic body: the
 * Anthropic answer as JSON, or each Anthropic stream event as an event-stream `chunk` message whose
 * payload is `{"bytes": base64(<event JSON>)}` (message_stop adds amazon-bedrock-invocationMetrics).
 */
export async function handleBedrockInvoke(r: RouteRequest, call: BedrockModelCall): Promise<void> {
  const { ctx, body, faults } = r;
  const problem = invalidBody(body);
  if (problem !== null) {
    sendError(ctx.res, 'aws', 400, problem);
    return;
  }
  const expected = expectedCompletion(body, r.defaultChunks);
  const n = r.nextId();
  const opts = {
    id: `msg_bdrk_mock_${n}`,
    model: call.modelId,
    toolId: `toolu_bdrk_mock_${n}`,
    cachedTokens: r.cachedTokens,
  };
  const metrics = invocationMetrics(expected, r.cachedTokens);
  if (!call.stream) {
    if (!(await awaitFirstByte(r))) return;
    sendJson(ctx.res, 200, anthropicMessage(expected, opts), {
      'x-amzn-bedrock-input-token-count': String(metrics.inputTokenCount),
      'x-amzn-bedrock-output-token-count': String(metrics.outputTokenCount),
      'x-amzn-bedrock-invocation-latency': '0',
    });
    return;
  }
  const events = anthropicStreamEvents(expected, opts).map((e) => {
    const payload =
      e.event === 'message_stop' ? { ...e.payload, 'amazon-bedrock-invocationMetrics': metrics } : e.payload;
    const bytes = Buffer.from(JSON.stringify(payload)).toString('base64');
    return { data: encodeEventMessage('chunk', { bytes }), content: e.content };
  });
  await streamEvents(ctx, events, faults, EVENT_STREAM_HEADERS);
}
