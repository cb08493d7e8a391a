import { UpstreamError } from '@switchyard/core';
import type { FramedEvent, RenderContext, StreamDecoder, StreamEncoder } from '../../canonical/codec.js';
import { isObject, sseEvent } from '../../canonical/json-fields.js';
import type { JsonObject } from '../../canonical/json-fields.js';
import { emptyUsage } from '../../canonical/types.js';
import type { CanonicalBlock, CanonicalStreamEvent, CanonicalUsage } from '../../canonical/types.js';
import { renderAnthropicError } from './errors.js';
import { anthropicMessageId } from './response.js';
import {
  fromAnthropicStopReason,
  fromAnthropicUsage,
  toAnthropicStopReason,
  toAnthropicUsage,
} from './usage.js';

// ---------------------------------------------------------------------------------------------
// Client side: canonical events → Anthropic SSE.
// ---------------------------------------------------------------------------------------------

function contentBlock(block: CanonicalBlock): JsonObject {
  switch (block.type) {
    case 'text':
      return { type: 'text', text: '' };
    case 'thinking':
      return { type: 'thinking', thinking: '', signature: '' };
    case 'redacted_thinking':
      return { type: 'redacted_thinking', data: block.data };
    case 'tool_call':
      return { type: 'tool_use', id: block.id, name: block.name, input: {} };
  }
}

function delta(index: number, d: JsonObject): string {
  return sseEvent('content_block_delta', { type: 'content_block_delta', index, delta: d });
}

/** Renders canonical stream events as Anthropic's SSE, indexing blocks exactly as canonical does. */
export class AnthropicStreamEncoder implements StreamEncoder {
  readonly #ctx: RenderContext;
  #outputTokens = 0;

  constructor(ctx: RenderContext) {
    this.#ctx = ctx;
  }

  push(ev: CanonicalStreamEvent): string {
    switch (ev.type) {
      case 'message_start': {
        // Anthropic's message_start always carries usage; unknown input reads 0, output starts at 1.
        const usage =
          ev.usage === null
            ? { ...toAnthropicUsage(emptyUsage()), output_tokens: 1 }
            : toAnthropicUsage(ev.usage);
        this.#outputTokens = usage.output_tokens;
        const message = {
          id: anthropicMessageId(ev.id),
          type: 'message',
          role: 'assistant',
          model: this.#ctx.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage,
        };
        return (
          sseEvent('message_start', { type: 'message_start', message }) + sseEvent('ping', { type: 'ping' })
        );
      }
      case 'block_start':
        return sseEvent('content_block_start', {
          type: 'content_block_start',
          index: ev.index,
          content_block: contentBlock(ev.block),
        });
      case 'text_delta':
        return delta(ev.index, { type: 'text_delta', text: ev.text });
      case 'thinking_delta':
        return delta(ev.index, { type: 'thinking_delta', thinking: ev.text });
      case 'signature_delta':
        return delta(ev.index, { type: 'signature_delta', signature: ev.signature });
      case 'tool_args_delta':
        return delta(ev.index, { type: 'input_json_delta', partial_json: ev.json });
      case 'block_stop':
        return sseEvent('content_block_stop', { type: 'content_block_stop', index: ev.index });
      case 'message_delta': {
        // The SDK requires output_tokens here; without new usage it repeats the last known count.
        const usage = ev.usage === null ? { output_tokens: this.#outputTokens } : toAnthropicUsage(ev.usage);
        return sseEvent('message_delta', {
          type: 'message_delta',
          delta: { stop_reason: toAnthropicStopReason(ev.stopReason), stop_sequence: ev.stopSequence },
          usage,
        });
      }
      case 'message_stop':
        return sseEvent('message_stop', { type: 'message_stop' });
    }
  }

  error(err: unknown): string {
    return sseEvent('error', renderAnthropicError(err).body);
  }
}

/** A stream encoder for an Anthropic client. */
export function createAnthropicStreamEncoder(ctx: RenderContext): StreamEncoder {
  return new AnthropicStreamEncoder(ctx);
}

// ---------------------------------------------------------------------------------------------
// Upstream side: Anthropic SSE events → canonical events.
// ---------------------------------------------------------------------------------------------

const USAGE_FIELDS = [
  'input_tokens',
  'output_tokens',
  'cache_read_input_tokens',
  'cache_creation_input_tokens',
];

function badStream(message: string): UpstreamError {
  return new UpstreamError(message, { retryable: false, code: 'upstream_stream_error' });
}

/**
 * Decodes Anthropic's stream events (named SSE events, or Bedrock/Vertex payloads whose JSON
 * carries the same `type`). `ping` is ignored; an `error` event throws an UpstreamError. Blocks of
 * types the gateway does not model (server tools) are skipped and the others renumbered, so
 * canonical indexes stay dense.
 */
export class AnthropicStreamDecoder implements StreamDecoder {
  #complete = false;
  /** The wire usage fields seen so far (message_start's, updated by message_delta's). */
  #wireUsage: JsonObject | null = null;
  /** Upstream block index → canonical block index. */
  readonly #indexes = new Map<number, number>();

  get complete(): boolean {
    return this.#complete;
  }

  get usage(): CanonicalUsage | null {
    return this.#wireUsage === null ? null : fromAnthropicUsage(this.#wireUsage);
  }

  push(event: FramedEvent): CanonicalStreamEvent[] {
    if (event.data.trim() === '') return [];
    let v: unknown;
    try {
      v = JSON.parse(event.data);
    } catch {
      throw badStream('The Anthropic upstream sent a stream event that is not JSON.');
    }
    if (!isObject(v)) throw badStream('The Anthropic upstream sent a stream event that is not an object.');
    const type = typeof v.type === 'string' ? v.type : event.event;
    switch (type) {
      case 'message_start':
        return this.#messageStart(v);
      case 'content_block_start':
        return this.#blockStart(v);
      case 'content_block_delta':
        return this.#blockDelta(v);
      case 'content_block_stop': {
        const index = this.#index(v);
        return index === null ? [] : [{ type: 'block_stop', index }];
      }
      case 'message_delta':
        return this.#messageDelta(v);
      case 'message_stop':
        this.#complete = true;
        return [{ type: 'message_stop' }];
      case 'error': {
        const e = isObject(v.error) ? v.error : {};
        const errType = typeof e.type === 'string' ? e.type : 'error';
        const message = typeof e.message === 'string' ? e.message : 'The upstream stream failed.';
        throw badStream(`${errType}: ${message}`);
      }
      default:
        // `ping` and event types added after this codec was written.
        return [];
    }
  }

  end(): CanonicalStreamEvent[] {
    return [];
  }

  #messageStart(v: JsonObject): CanonicalStreamEvent[] {
    const m = isObject(v.message) ? v.message : {};
    if (isObject(m.usage)) this.#wireUsage = { ...m.usage };
    return [
      {
        type: 'message_start',
        id: typeof m.id === 'string' ? m.id : '',
        model: typeof m.model === 'string' ? m.model : '',
        usage: this.usage,
      },
    ];
  }

  #blockStart(v: JsonObject): CanonicalStreamEvent[] {
    const b = isObject(v.content_block) ? v.content_block : {};
    if (typeof v.index !== 'number') return [];
    let block: CanonicalBlock;
    const extra: CanonicalStreamEvent[] = [];
    const index = this.#indexes.size;
    switch (b.type) {
      case 'text':
        block = { type: 'text' };
        if (typeof b.text === 'string' && b.text !== '')
          extra.push({ type: 'text_delta', index, text: b.text });
        break;
      case 'thinking':
        block = { type: 'thinking' };
        if (typeof b.thinking === 'string' && b.thinking !== '') {
          extra.push({ type: 'thinking_delta', index, text: b.thinking });
        }
        if (typeof b.signature === 'string' && b.signature !== '') {
          extra.push({ type: 'signature_delta', index, signature: b.signature });
        }
        break;
      case 'redacted_thinking':
        block = { type: 'redacted_thinking', data: typeof b.data === 'string' ? b.data : '' };
        break;
      case 'tool_use':
        block = { type: 'tool_call', id: String(b.id ?? ''), name: String(b.name ?? '') };
        if (isObject(b.input) && Object.keys(b.input).length > 0) {
          extra.push({ type: 'tool_args_delta', index, json: JSON.stringify(b.input) });
        }
        break;
      default:
        return [];
    }
    this.#indexes.set(v.index, index);
    return [{ type: 'block_start', index, block }, ...extra];
  }

  #blockDelta(v: JsonObject): CanonicalStreamEvent[] {
    const index = this.#index(v);
    const d = v.delta;
    if (index === null || !isObject(d)) return [];
    switch (d.type) {
      case 'text_delta':
        return typeof d.text === 'string' ? [{ type: 'text_delta', index, text: d.text }] : [];
      case 'input_json_delta':
        return typeof d.partial_json === 'string'
          ? [{ type: 'tool_args_delta', index, json: d.partial_json }]
          : [];
      case 'thinking_delta':
        return typeof d.thinking === 'string' ? [{ type: 'thinking_delta', index, text: d.thinking }] : [];
      case 'signature_delta':
        return typeof d.signature === 'string'
          ? [{ type: 'signature_delta', index, signature: d.signature }]
          : [];
      default:
        // citations_delta and later additions.
        return [];
    }
  }

  #messageDelta(v: JsonObject): CanonicalStreamEvent[] {
    if (isObject(v.usage)) {
      const merged: JsonObject = { ...this.#wireUsage };
      for (const f of USAGE_FIELDS) if (typeof v.usage[f] === 'number') merged[f] = v.usage[f];
      this.#wireUsage = merged;
    }
    const d = isObject(v.delta) ? v.delta : {};
    return [
      {
        type: 'message_delta',
        stopReason: fromAnthropicStopReason(d.stop_reason),
        stopSequence: typeof d.stop_sequence === 'string' ? d.stop_sequence : null,
        usage: this.usage,
      },
    ];
  }

  #index(v: JsonObject): number | null {
    return typeof v.index === 'number' ? (this.#indexes.get(v.index) ?? null) : null;
  }
}

/** A stream decoder for an Anthropic upstream. */
export function createAnthropicStreamDecoder(): StreamDecoder {
  return new AnthropicStreamDecoder();
}
