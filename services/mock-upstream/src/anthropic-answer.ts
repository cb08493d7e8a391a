import type { ExpectedCompletion } from './deterministic-completion.js';
import { anthropicStopReason, anthropicUsage } from './expected-wire-fields.js';

/** The answer's identity and the usage knobs, as the Anthropic-shaped routes fill them. */
export interface AnthropicAnswerOptions {
  id: string;
  model: string;
  toolId: string;
  cachedTokens: number;
}

/** One Anthropic stream event: its name, payload and whether `cutAfterChunks` counts it. */
export interface AnthropicStreamEvent {
  event: string;
  payload: Record<string, unknown>;
  content: boolean;
}

function toolInput(args: string): unknown {
  try {
    return JSON.parse(args);
  } catch {
    return {};
  }
}

/** The whole Anthropic `message` object for the deterministic answer. */
export function anthropicMessage(
  exp: ExpectedCompletion,
  opts: AnthropicAnswerOptions,
): Record<string, unknown> {
  const content: Record<string, unknown>[] = [];
  if (exp.reasoning) {
    content.push({ type: 'thinking', thinking: exp.reasoning.text, signature: exp.reasoning.signature });
  }
  if (exp.toolCall) {
    content.push({
      type: 'tool_use',
      id: opts.toolId,
      name: exp.toolCall.name,
      input: toolInput(exp.toolCall.arguments),
    });
  } else {
    content.push({ type: 'text', text: exp.content });
  }
  return {
    id: opts.id,
    type: 'message',
    role: 'assistant',
    model: opts.model,
    content,
    stop_reason: anthropicStopReason(exp),
    stop_sequence: null,
    usage: anthropicUsage(exp, opts.cachedTokens),
  };
}

function event(name: string, payload: Record<string, unknown>, content = false): AnthropicStreamEvent {
  return { event: name, payload: { type: name, ...payload }, content };
}

function delta(index: number, body: Record<string, unknown>, content: boolean): AnthropicStreamEvent {
  return event('content_block_delta', { index, delta: body }, content);
}

/**
 * The Anthropic stream event sequence: message_start, per block content_block_start / deltas /
 * content_block_stop (a `ping` after the first start), message_delta, message_stop. Thinking
 * streams as thinking_delta pieces and one signature_delta; tool input as input_json_delta pieces.
 */
export function anthropicStreamEvents(
  exp: ExpectedCompletion,
  opts: AnthropicAnswerOptions,
): AnthropicStreamEvent[] {
  const startUsage = { ...anthropicUsage(exp, opts.cachedTokens), output_tokens: 1 };
  const events: AnthropicStreamEvent[] = [
    event('message_start', {
      message: {
        id: opts.id,
        type: 'message',
        role: 'assistant',
        model: opts.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: startUsage,
      },
    }),
  ];
  let index = 0;
  const start = (block: Record<string, unknown>): void => {
    events.push(event('content_block_start', { index, content_block: block }));
    if (index === 0) events.push(event('ping', {}));
  };
  if (exp.reasoning) {
    start({ type: 'thinking', thinking: '', signature: '' });
    for (const thinking of exp.reasoning.chunks) {
      events.push(delta(index, { type: 'thinking_delta', thinking }, true));
    }
    events.push(delta(index, { type: 'signature_delta', signature: exp.reasoning.signature }, false));
    events.push(event('content_block_stop', { index }));
    index++;
  }
  if (exp.toolCall) {
    start({ type: 'tool_use', id: opts.toolId, name: exp.toolCall.name, input: {} });
    for (const partial of exp.toolArgumentChunks) {
      events.push(delta(index, { type: 'input_json_delta', partial_json: partial }, true));
    }
  } else {
    start({ type: 'text', text: '' });
    for (const text of exp.chunks) events.push(delta(index, { type: 'text_delta', text }, true));
  }
  events.push(
    event('content_block_stop', { index }),
    event('message_delta', {
      delta: { stop_reason: anthropicStopReason(exp), stop_sequence: null },
      usage: { output_tokens: exp.completionTokens },
    }),
    event('message_stop', {}),
  );
  return events;
}
