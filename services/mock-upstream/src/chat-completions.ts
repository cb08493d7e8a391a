import { expectedCompletion } from './deterministic-completion.js';
import type { RouteRequest } from './route-request.js';
import { nowSeconds } from './route-request.js';
import { sendJson } from './send-json.js';
import { dataEvent, streamSse } from './sse-stream.js';
import type { SseEvent } from './sse-stream.js';
import { sendError } from './wire-errors.js';

const DEFAULT_MODEL = 'gpt-4o-mini';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `POST /v1/chat/completions`: the deterministic echo completion, streamed or not. */
export async function handleChatCompletions(r: RouteRequest): Promise<void> {
  const { ctx, body, faults } = r;
  if (!Array.isArray(body.messages)) {
    sendError(ctx.res, 'openai', 400, "Missing required parameter: 'messages'.");
    return;
  }
  const expected = expectedCompletion(body, r.defaultChunks);
  const n = r.nextId();
  const id = `chatcmpl-mock-${n}`;
  const created = nowSeconds();
  const model = typeof body.model === 'string' ? body.model : DEFAULT_MODEL;
  const usage = {
    prompt_tokens: expected.promptTokens,
    completion_tokens: expected.completionTokens,
    total_tokens: expected.promptTokens + expected.completionTokens,
  };
  const toolCall = expected.toolCall;
  const callId = `call_mock_${n}`;
  const finishReason = toolCall ? 'tool_calls' : 'stop';

  if (body.stream !== true) {
    if (!(await ctx.sleep(faults.firstByteDelayMs ?? 0))) return;
    const message = toolCall
      ? {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: callId, type: 'function', function: toolCall }],
          refusal: null,
        }
      : { role: 'assistant', content: expected.content, refusal: null };
    sendJson(ctx.res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
      usage,
      system_fingerprint: 'fp_mock',
    });
    return;
  }

  const includeUsage = isRecord(body.stream_options) && body.stream_options.include_usage === true;
  const chunk = (delta: Record<string, unknown>, finish: string | null, content = false): SseEvent => {
    const payload: Record<string, unknown> = {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      system_fingerprint: 'fp_mock',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    };
    if (includeUsage) payload.usage = null;
    return dataEvent(payload, content);
  };

  const events: SseEvent[] = [];
  if (toolCall) {
    events.push(
      chunk(
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { index: 0, id: callId, type: 'function', function: { name: toolCall.name, arguments: '' } },
          ],
          refusal: null,
        },
        null,
      ),
      chunk({ tool_calls: [{ index: 0, function: { arguments: toolCall.arguments } }] }, null, true),
    );
  } else {
    events.push(chunk({ role: 'assistant', content: '' }, null));
    for (const piece of expected.chunks) events.push(chunk({ content: piece }, null, true));
  }
  events.push(chunk({}, finishReason));
  if (includeUsage) {
    events.push(
      dataEvent({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        system_fingerprint: 'fp_mock',
        choices: [],
        usage,
      }),
    );
  }
  events.push({ data: 'data: [DONE]\n\n', content: false });
  await streamSse(ctx, events, faults);
}
