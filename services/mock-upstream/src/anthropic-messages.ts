import { expectedCompletion, promptTokensOf } from './deterministic-completion.js';
import type { RouteRequest } from './route-request.js';
import { sendJson } from './send-json.js';
import { namedEvent, streamSse } from './sse-stream.js';
import type { SseEvent } from './sse-stream.js';
import { sendError } from './wire-errors.js';

const DEFAULT_MODEL = 'claude-sonnet-4-5';

/** `POST /v1/messages`: the deterministic echo completion in Anthropic's Messages shape. */
export async function handleAnthropicMessages(r: RouteRequest): Promise<void> {
  const { ctx, body, faults } = r;
  if (!Array.isArray(body.messages)) {
    sendError(ctx.res, 'anthropic', 400, 'messages: Field required');
    return;
  }
  const expected = expectedCompletion(body, r.defaultChunks);
  const n = r.nextId();
  const id = `msg_mock_${n}`;
  const model = typeof body.model === 'string' ? body.model : DEFAULT_MODEL;
  const toolCall = expected.toolCall;
  const toolId = `toolu_mock_${n}`;
  const stopReason = toolCall ? 'tool_use' : 'end_turn';
  const inputTokens = expected.promptTokens;
  const outputTokens = expected.completionTokens;

  if (body.stream !== true) {
    if (!(await ctx.sleep(faults.firstByteDelayMs ?? 0))) return;
    const content = toolCall
      ? [{ type: 'tool_use', id: toolId, name: toolCall.name, input: {} }]
      : [{ type: 'text', text: expected.content }];
    sendJson(ctx.res, 200, {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: { input_tokens: inputTokens, output_tokens: outputTokens },
    });
    return;
  }

  const events: SseEvent[] = [
    namedEvent('message_start', {
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: inputTokens, output_tokens: 1 },
      },
    }),
  ];
  if (toolCall) {
    events.push(
      namedEvent('content_block_start', {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'tool_use', id: toolId, name: toolCall.name, input: {} },
      }),
      namedEvent('ping', { type: 'ping' }),
      namedEvent(
        'content_block_delta',
        {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'input_json_delta', partial_json: toolCall.arguments },
        },
        true,
      ),
    );
  } else {
    events.push(
      namedEvent('content_block_start', {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'text', text: '' },
      }),
      namedEvent('ping', { type: 'ping' }),
    );
    for (const text of expected.chunks) {
      events.push(
        namedEvent(
          'content_block_delta',
          { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } },
          true,
        ),
      );
    }
  }
  events.push(
    namedEvent('content_block_stop', { type: 'content_block_stop', index: 0 }),
    namedEvent('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: outputTokens },
    }),
    namedEvent('message_stop', { type: 'message_stop' }),
  );
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
