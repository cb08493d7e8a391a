import { UpstreamError } from '@switchyard/core';
import type { RenderContext } from '../../canonical/codec.js';
import { isObject } from '../../canonical/json-fields.js';
import type { JsonObject } from '../../canonical/json-fields.js';
import { emptyUsage } from '../../canonical/types.js';
import type { CanonicalResponse, CanonicalUsage } from '../../canonical/types.js';
import {
  fromAnthropicStopReason,
  fromAnthropicUsage,
  toAnthropicStopReason,
  toAnthropicUsage,
} from './usage.js';
import type { AnthropicStopReason, AnthropicUsage } from './usage.js';

/** The answer content blocks the gateway renders. */
export type AnthropicResponseBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: JsonObject }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string };

/** A non-stream Messages answer (`type: "message"`). */
export interface AnthropicMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: AnthropicResponseBlock[];
  stop_reason: AnthropicStopReason;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

/** Anthropic message ids start with `msg_`; other providers' ids get the prefix. */
export function anthropicMessageId(id: string): string {
  return id.startsWith('msg_') ? id : `msg_${id}`;
}

/** Tool-call arguments as Anthropic's `input` object; text that is no JSON object reads as `{}`. */
export function argumentsObject(text: string): JsonObject {
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : {};
  } catch {
    return {};
  }
}

/**
 * Renders a canonical answer as an Anthropic Messages answer, naming the client's model. A thinking
 * part without a signature still gets `signature: ""`: Claude Code and the SDK expect the field.
 */
export function renderAnthropicResponse(res: CanonicalResponse, ctx: RenderContext): AnthropicMessage {
  return {
    id: anthropicMessageId(res.id),
    type: 'message',
    role: 'assistant',
    model: ctx.model,
    content: res.content.map((p): AnthropicResponseBlock => {
      switch (p.type) {
        case 'text':
          return { type: 'text', text: p.text };
        case 'tool_call':
          return { type: 'tool_use', id: p.id, name: p.name, input: argumentsObject(p.arguments) };
        case 'thinking':
          return { type: 'thinking', thinking: p.text, signature: p.signature ?? '' };
        case 'redacted_thinking':
          return { type: 'redacted_thinking', data: p.data };
      }
    }),
    stop_reason: toAnthropicStopReason(res.stopReason),
    stop_sequence: res.stopSequence,
    usage: toAnthropicUsage(res.usage),
  };
}

function malformed(what: string): UpstreamError {
  return new UpstreamError(`The Anthropic upstream answered with a malformed message: ${what}.`, {
    retryable: false,
    code: 'upstream_bad_response',
  });
}

/**
 * Parses a successful non-stream Messages answer. Block types the gateway does not model (server
 * tool blocks) are skipped. Throws an UpstreamError when the body is not a message.
 */
export function parseAnthropicResponse(body: unknown): CanonicalResponse {
  if (!isObject(body)) throw malformed('the body is not an object');
  if (typeof body.id !== 'string') throw malformed("'id' is missing");
  if (!Array.isArray(body.content)) throw malformed("'content' is not an array");
  const content: CanonicalResponse['content'] = [];
  for (const b of body.content as unknown[]) {
    if (!isObject(b)) throw malformed('a content block is not an object');
    if (b.type === 'text' && typeof b.text === 'string') {
      content.push({ type: 'text', text: b.text });
    } else if (b.type === 'tool_use' && typeof b.id === 'string' && typeof b.name === 'string') {
      content.push({ type: 'tool_call', id: b.id, name: b.name, arguments: JSON.stringify(b.input ?? {}) });
    } else if (b.type === 'thinking' && typeof b.thinking === 'string') {
      const signature = typeof b.signature === 'string' && b.signature !== '' ? b.signature : null;
      content.push({ type: 'thinking', text: b.thinking, signature });
    } else if (b.type === 'redacted_thinking' && typeof b.data === 'string') {
      content.push({ type: 'redacted_thinking', data: b.data });
    }
  }
  return {
    id: body.id,
    model: typeof body.model === 'string' ? body.model : '',
    // Anthropic answers carry no creation time.
    created: Math.floor(Date.now() / 1000),
    content,
    stopReason: fromAnthropicStopReason(body.stop_reason),
    stopSequence: typeof body.stop_sequence === 'string' ? body.stop_sequence : null,
    usage: isObject(body.usage) ? fromAnthropicUsage(body.usage) : emptyUsage(),
  };
}

/** The usage of a non-stream Messages answer (same-format passthrough), or null when absent. */
export function anthropicUsageOf(body: unknown): CanonicalUsage | null {
  return isObject(body) && isObject(body.usage) ? fromAnthropicUsage(body.usage) : null;
}
