import { encodeEventMessage } from './aws-event-stream.js';
import { EVENT_STREAM_HEADERS } from './bedrock-invoke.js';
import type { BedrockModelCall } from './bedrock-invoke.js';
import { converseResponse, converseStreamEvents } from './converse-answer.js';
import { expectedCompletion } from './deterministic-completion.js';
import type { RouteRequest } from './route-request.js';
import { awaitFirstByte } from './route-request.js';
import { sendJson } from './send-json.js';
import { streamEvents } from './stream-response.js';
import { sendError } from './wire-errors.js';

/**
 * `POST /model/{modelId}/converse` and `/converse-stream`: the deterministic answer in the Converse
 * shape, or the ConverseStream events as event-stream messages (`:event-type` = the event name,
 * payload = its JSON).
 */
export async function handleBedrockConverse(r: RouteRequest, call: BedrockModelCall): Promise<void> {
  const { ctx, body, faults } = r;
  if (!Array.isArray(body.messages)) {
    sendError(
      ctx.res,
      'aws',
      400,
      "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null",
    );
    return;
  }
  const expected = expectedCompletion(body, r.defaultChunks);
  const opts = { toolUseId: `tooluse_mock_${r.nextId()}`, cachedTokens: r.cachedTokens };
  if (!call.stream) {
    if (!(await awaitFirstByte(r))) return;
    sendJson(ctx.res, 200, converseResponse(expected, opts));
    return;
  }
  const events = converseStreamEvents(expected, opts).map((e) => ({
    data: encodeEventMessage(e.eventType, e.payload),
    content: e.content,
  }));
  await streamEvents(ctx, events, faults, EVENT_STREAM_HEADERS);
}
