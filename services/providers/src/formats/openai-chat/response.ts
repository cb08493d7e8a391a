import { randomUUID } from 'node:crypto';
import { UpstreamError } from '@switchyard/core';
import type { RenderContext } from '../../canonical/codec.js';
import { isObject } from '../../canonical/json-fields.js';
import {
  type CanonicalResponse,
  type CanonicalUsage,
  type ToolCallPart,
  emptyUsage,
} from '../../canonical/types.js';
import { type FinishReason, finishReasonOf, stopReasonOf } from './stop-reason.js';
import { type OpenAIUsageBody, canonicalUsageOf, readOpenAIUsage, renderOpenAIUsage } from './usage.js';

/** A chat completion id (`chatcmpl-...`) for a canonical answer id. */
export function chatCompletionId(id: string): string {
  if (id.startsWith('chatcmpl-')) return id;
  return `chatcmpl-${id === '' ? randomUUID().replaceAll('-', '') : id}`;
}

/** One entry of `message.tool_calls`. */
export interface ChatToolCallBody {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** The `chat.completion` object the gateway answers with. */
export interface ChatCompletionBody {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: 0;
    message: {
      role: 'assistant';
      content: string | null;
      refusal: null;
      tool_calls?: ChatToolCallBody[];
      reasoning_content?: string;
    };
    finish_reason: FinishReason;
    logprobs: null;
  }>;
  usage: OpenAIUsageBody;
}

/** Renders a canonical answer as a Chat Completions `chat.completion` object. */
export function renderChatResponse(res: CanonicalResponse, ctx: RenderContext): ChatCompletionBody {
  const texts: string[] = [];
  const thinking: string[] = [];
  const calls: ChatToolCallBody[] = [];
  for (const part of res.content) {
    if (part.type === 'text') texts.push(part.text);
    else if (part.type === 'thinking') thinking.push(part.text);
    else if (part.type === 'tool_call') {
      calls.push({ id: part.id, type: 'function', function: { name: part.name, arguments: part.arguments } });
    }
  }
  const message: ChatCompletionBody['choices'][number]['message'] = {
    role: 'assistant',
    content: texts.length === 0 && calls.length > 0 ? null : texts.join(''),
    refusal: null,
  };
  if (calls.length > 0) message.tool_calls = calls;
  if (thinking.length > 0) message.reasoning_content = thinking.join('');
  return {
    id: chatCompletionId(res.id),
    object: 'chat.completion',
    created: res.created,
    model: ctx.model,
    choices: [{ index: 0, message, finish_reason: finishReasonOf(res.stopReason), logprobs: null }],
    usage: renderOpenAIUsage(res.usage),
  };
}

function malformed(what: string): UpstreamError {
  return new UpstreamError(`The upstream answer is malformed: ${what}.`, {
    retryable: true,
    code: 'upstream_malformed_response',
  });
}

/**
 * The reasoning text of a message or delta: `reasoning_content` (DeepSeek, Qwen, vLLM) or
 * `reasoning` (OpenRouter, newer vLLM).
 */
export function reasoningTextOf(o: Record<string, unknown>): string | null {
  const v = typeof o.reasoning_content === 'string' ? o.reasoning_content : o.reasoning;
  return typeof v === 'string' && v !== '' ? v : null;
}

/** Some compatible hosts send content as an array of text parts. */
function contentText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) return null;
  return v.map((p) => (isObject(p) && typeof p.text === 'string' ? p.text : '')).join('');
}

/** Parses a successful `chat.completion` answer (its first choice) into the canonical answer. */
export function parseChatResponse(body: unknown): CanonicalResponse {
  if (!isObject(body)) throw malformed('not a JSON object');
  const choice: unknown = Array.isArray(body.choices) ? body.choices[0] : undefined;
  if (!isObject(choice) || !isObject(choice.message)) throw malformed('no choices[0].message');
  const message = choice.message;
  const content: CanonicalResponse['content'] = [];
  const reasoning = reasoningTextOf(message);
  if (reasoning !== null) content.push({ type: 'thinking', text: reasoning, signature: null });
  const text = contentText(message.content);
  const refusal = typeof message.refusal === 'string' && message.refusal !== '' ? message.refusal : null;
  if (text !== null && text !== '') content.push({ type: 'text', text });
  else if (refusal !== null) content.push({ type: 'text', text: refusal });
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  calls.forEach((call: unknown, i) => {
    if (!isObject(call) || !isObject(call.function)) return;
    const fn = call.function;
    content.push({
      type: 'tool_call',
      id: typeof call.id === 'string' && call.id !== '' ? call.id : `call_${i}`,
      name: typeof fn.name === 'string' ? fn.name : '',
      arguments: typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {}),
    } satisfies ToolCallPart);
  });
  const sawToolCalls = content.some((p) => p.type === 'tool_call');
  const usage = readOpenAIUsage(body.usage);
  return {
    id: typeof body.id === 'string' ? body.id : '',
    model: typeof body.model === 'string' ? body.model : '',
    created: typeof body.created === 'number' ? body.created : Math.floor(Date.now() / 1000),
    content,
    stopReason:
      refusal !== null && (text === null || text === '')
        ? 'refusal'
        : stopReasonOf(choice.finish_reason, sawToolCalls),
    stopSequence: null,
    usage: usage === null ? emptyUsage() : canonicalUsageOf(usage),
  };
}

/** The usage of a `chat.completion` answer, or null when it reports none. */
export function chatUsageOf(body: unknown): CanonicalUsage | null {
  if (!isObject(body)) return null;
  const usage = readOpenAIUsage(body.usage);
  return usage === null ? null : canonicalUsageOf(usage);
}
