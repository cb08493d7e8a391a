import { expectedCompletion } from './deterministic-completion.js';
import { openaiFinishReason, openaiUsage } from './expected-wire-fields.js';
import type { RouteRequest } from './route-request.js';
import { awaitFirstByte, nowSeconds } from './route-request.js';
import { sendJson } from './send-json.js';
import { dataEvent, streamSse } from './sse-stream.js';
import type { SseEvent } from './sse-stream.js';
import { sendError } from './wire-errors.js';

const DEFAULT_MODEL = 'gpt-4o-mini';

/** Variations of the Chat Completions answer for hosts that speak it with their own accents. */
export interface ChatCompletionsFlavor {
  /** The answer's `model` (Azure: the deployment); default: the body's `model`. */
  model?: string;
  /** Azure OpenAI: content-filter annotations, and a first stream chunk without choices carrying them. */
  azure?: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const NOT_FILTERED = { filtered: false, severity: 'safe' } as const;

/** Azure's verdict of its four content-filter categories, all "safe". */
function contentFilterResults(): Record<string, unknown> {
  return { hate: NOT_FILTERED, self_harm: NOT_FILTERED, sexual: NOT_FILTERED, violence: NOT_FILTERED };
}

function promptFilterResults(): unknown[] {
  return [{ prompt_index: 0, content_filter_results: contentFilterResults() }];
}

/** `POST /v1/chat/completions` (and Azure's deployments route): the deterministic echo, streamed or not. */
export async function handleChatCompletions(
  r: RouteRequest,
  flavor: ChatCompletionsFlavor = {},
): Promise<void> {
  const { ctx, body, faults } = r;
  if (!Array.isArray(body.messages)) {
    sendError(ctx.res, 'openai', 400, "Missing required parameter: 'messages'.");
    return;
  }
  const expected = expectedCompletion(body, r.defaultChunks);
  const n = r.nextId();
  const id = `chatcmpl-mock-${n}`;
  const created = nowSeconds();
  const model = flavor.model ?? (typeof body.model === 'string' ? body.model : DEFAULT_MODEL);
  const usage = openaiUsage(expected, r.cachedTokens);
  const toolCall = expected.toolCall;
  const reasoning = expected.reasoning;
  const callId = `call_mock_${n}`;
  const finishReason = openaiFinishReason(expected);

  if (body.stream !== true) {
    if (!(await awaitFirstByte(r))) return;
    const message: Record<string, unknown> = {
      role: 'assistant',
      content: toolCall ? null : expected.content,
    };
    if (reasoning) message.reasoning_content = reasoning.text;
    if (toolCall) message.tool_calls = [{ id: callId, type: 'function', function: toolCall }];
    message.refusal = null;
    const choice: Record<string, unknown> = {
      index: 0,
      message,
      logprobs: null,
      finish_reason: finishReason,
    };
    if (flavor.azure) choice.content_filter_results = contentFilterResults();
    const completion: Record<string, unknown> = {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [choice],
      ...(r.omitUsage ? {} : { usage }),
      system_fingerprint: 'fp_mock',
    };
    if (flavor.azure) completion.prompt_filter_results = promptFilterResults();
    sendJson(ctx.res, 200, completion);
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
  if (flavor.azure) {
    // Azure opens its streams with a chunk that has no choices, only the prompt's filter verdict.
    events.push(
      dataEvent({
        choices: [],
        created: 0,
        id: '',
        model: '',
        object: '',
        prompt_filter_results: promptFilterResults(),
      }),
    );
  }
  const toolStart = toolCall
    ? { index: 0, id: callId, type: 'function', function: { name: toolCall.name, arguments: '' } }
    : null;
  if (reasoning || !toolStart) events.push(chunk({ role: 'assistant', content: '' }, null));
  if (reasoning) {
    for (const piece of reasoning.chunks) events.push(chunk({ reasoning_content: piece }, null, true));
  }
  if (toolCall && toolStart) {
    events.push(
      reasoning
        ? chunk({ tool_calls: [toolStart] }, null)
        : chunk({ role: 'assistant', content: null, tool_calls: [toolStart], refusal: null }, null),
    );
    for (const piece of expected.toolArgumentChunks) {
      events.push(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null, true));
    }
  } else {
    for (const piece of expected.chunks) events.push(chunk({ content: piece }, null, true));
  }
  events.push(chunk({}, finishReason));
  if (includeUsage && !r.omitUsage) {
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
