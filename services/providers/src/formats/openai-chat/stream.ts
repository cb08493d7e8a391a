import { UpstreamError } from '@switchyard/core';
import type { FramedEvent, RenderContext, StreamDecoder, StreamEncoder } from '../../canonical/codec.js';
import { type JsonObject, isObject, sseEvent } from '../../canonical/json-fields.js';
import {
  type CanonicalStreamEvent,
  type CanonicalUsage,
  type StopReason,
  emptyUsage,
} from '../../canonical/types.js';
import { renderOpenAIError } from './errors.js';
import { chatCompletionId, reasoningTextOf } from './response.js';
import { finishReasonOf, stopReasonOf } from './stop-reason.js';
import { canonicalUsageOf, readOpenAIUsage, renderOpenAIUsage } from './usage.js';

const DONE = 'data: [DONE]\n\n';

/**
 * Renders canonical events as `chat.completion.chunk` SSE events, each written as soon as its event
 * arrives. Tool calls are numbered by their own 0-based counter (OpenAI's `tool_calls[].index`).
 */
class ChatStreamEncoder implements StreamEncoder {
  readonly #ctx: RenderContext;
  #id: string | null = null;
  #created = 0;
  /** Canonical block index → OpenAI tool-call index, for tool-call blocks. */
  readonly #toolIndex = new Map<number, number>();
  #usage: CanonicalUsage | null = null;

  constructor(ctx: RenderContext) {
    this.#ctx = ctx;
  }

  push(event: CanonicalStreamEvent): string {
    switch (event.type) {
      case 'message_start':
        this.#start(event.id);
        this.#usage = event.usage;
        return this.#chunk({ role: 'assistant', content: '' });
      case 'block_start':
        if (event.block.type !== 'tool_call') return '';
        this.#toolIndex.set(event.index, this.#toolIndex.size);
        return this.#chunk({
          tool_calls: [
            {
              index: this.#toolIndex.get(event.index),
              id: event.block.id,
              type: 'function',
              function: { name: event.block.name, arguments: '' },
            },
          ],
        });
      case 'text_delta':
        return event.text === '' ? '' : this.#chunk({ content: event.text });
      case 'thinking_delta':
        return event.text === '' ? '' : this.#chunk({ reasoning_content: event.text });
      case 'tool_args_delta': {
        const index = this.#toolIndex.get(event.index);
        if (index === undefined || event.json === '') return '';
        return this.#chunk({ tool_calls: [{ index, function: { arguments: event.json } }] });
      }
      case 'message_delta': {
        const usage = event.usage ?? this.#usage;
        let out = this.#chunk({}, finishReasonOf(event.stopReason));
        if (this.#ctx.includeUsage) {
          out += sseEvent(null, {
            ...this.#head(),
            choices: [],
            usage: renderOpenAIUsage(usage ?? emptyUsage()),
          });
        }
        return out;
      }
      case 'message_stop':
        return DONE;
      default:
        return '';
    }
  }

  error(err: unknown): string {
    return sseEvent(null, renderOpenAIError(err).body);
  }

  #start(id: string): void {
    this.#id = chatCompletionId(id);
    this.#created = Math.floor(Date.now() / 1000);
  }

  #head(): JsonObject {
    if (this.#id === null) this.#start('');
    return { id: this.#id, object: 'chat.completion.chunk', created: this.#created, model: this.#ctx.model };
  }

  #chunk(delta: JsonObject, finishReason: string | null = null): string {
    const chunk: JsonObject = {
      ...this.#head(),
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    };
    // With include_usage OpenAI puts `"usage": null` on every chunk but the last.
    if (this.#ctx.includeUsage) chunk.usage = null;
    return sseEvent(null, chunk);
  }
}

/** A Chat Completions chunk encoder for one client stream. */
export function createChatStreamEncoder(ctx: RenderContext): StreamEncoder {
  return new ChatStreamEncoder(ctx);
}

interface OpenBlock {
  kind: 'text' | 'thinking' | 'tool';
  index: number;
}

/**
 * Turns `chat.completion.chunk` events into the canonical sequence. One block is open at a time
 * (OpenAI streams text, reasoning and each tool call one after the other); the finish reason is
 * held until the usage chunk or `[DONE]`, because the usage chunk comes after the finish chunk.
 */
class ChatStreamDecoder implements StreamDecoder {
  #started = false;
  #open: OpenBlock | null = null;
  #blocks = 0;
  /** OpenAI tool-call index → canonical block index. */
  readonly #tools = new Map<number, number>();
  #finish: StopReason | null = null;
  #ended = false;
  #done = false;
  #usage: CanonicalUsage | null = null;

  get complete(): boolean {
    return this.#done;
  }

  get usage(): CanonicalUsage | null {
    return this.#usage;
  }

  push(event: FramedEvent): CanonicalStreamEvent[] {
    if (this.#done) return [];
    const out: CanonicalStreamEvent[] = [];
    if (event.data.trim() === '[DONE]') {
      this.#done = true;
      this.#begin(out, '', '');
      this.#end(out);
      return out;
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(event.data);
    } catch {
      throw new UpstreamError('The upstream sent a stream event that is not JSON.', {
        retryable: true,
        code: 'upstream_malformed_response',
      });
    }
    if (!isObject(chunk)) return out;
    if (this.#ended) {
      // After the held finish was released (a usage chunk) only a later usage report matters.
      const late = readOpenAIUsage(chunk.usage);
      if (late !== null) this.#usage = canonicalUsageOf(late);
      return out;
    }
    if (chunk.error != null) {
      const e = chunk.error;
      const message =
        isObject(e) && typeof e.message === 'string' ? e.message : typeof e === 'string' ? e : null;
      throw new UpstreamError(message ?? 'The upstream reported an error mid-stream.', {
        retryable: true,
        code: 'upstream_stream_error',
      });
    }
    this.#begin(
      out,
      typeof chunk.id === 'string' ? chunk.id : '',
      typeof chunk.model === 'string' ? chunk.model : '',
    );
    const choice: unknown = Array.isArray(chunk.choices)
      ? chunk.choices.find((c: unknown) => isObject(c) && (c.index ?? 0) === 0)
      : undefined;
    if (isObject(choice)) this.#choice(out, choice);
    const usage = readOpenAIUsage(chunk.usage);
    if (usage !== null) {
      this.#usage = canonicalUsageOf(usage);
      if (this.#finish !== null) this.#end(out);
    }
    return out;
  }

  end(): CanonicalStreamEvent[] {
    if (this.#finish === null || this.#done) return [];
    this.#done = true;
    const out: CanonicalStreamEvent[] = [];
    this.#end(out);
    return out;
  }

  #begin(out: CanonicalStreamEvent[], id: string, model: string): void {
    if (this.#started) return;
    this.#started = true;
    out.push({ type: 'message_start', id, model, usage: null });
  }

  #choice(out: CanonicalStreamEvent[], choice: JsonObject): void {
    const delta = isObject(choice.delta) ? choice.delta : {};
    const reasoning = reasoningTextOf(delta);
    if (reasoning !== null) {
      const index = this.#block(out, 'thinking');
      out.push({ type: 'thinking_delta', index, text: reasoning });
    }
    const text =
      typeof delta.content === 'string'
        ? delta.content
        : typeof delta.refusal === 'string'
          ? delta.refusal
          : '';
    if (text !== '') {
      const index = this.#block(out, 'text');
      out.push({ type: 'text_delta', index, text });
    }
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls) if (isObject(call)) this.#toolCall(out, call);
    }
    if (typeof choice.finish_reason === 'string') {
      this.#close(out);
      this.#finish = stopReasonOf(choice.finish_reason, this.#tools.size > 0);
    }
  }

  #toolCall(out: CanonicalStreamEvent[], call: JsonObject): void {
    const toolIndex = typeof call.index === 'number' ? call.index : this.#tools.size;
    const fn = isObject(call.function) ? call.function : {};
    const args = typeof fn.arguments === 'string' ? fn.arguments : '';
    let index = this.#tools.get(toolIndex);
    if (index === undefined) {
      this.#close(out);
      index = this.#blocks++;
      this.#tools.set(toolIndex, index);
      this.#open = { kind: 'tool', index };
      const id = typeof call.id === 'string' && call.id !== '' ? call.id : `call_${toolIndex}`;
      const name = typeof fn.name === 'string' ? fn.name : '';
      out.push({ type: 'block_start', index, block: { type: 'tool_call', id, name } });
    } else if (this.#open?.index !== index) {
      // Arguments for a call whose block was already closed: no OpenAI host interleaves calls.
      return;
    }
    if (args !== '') out.push({ type: 'tool_args_delta', index, json: args });
  }

  /** The index of the open block of this kind, opening it (and closing another) when needed. */
  #block(out: CanonicalStreamEvent[], kind: 'text' | 'thinking'): number {
    if (this.#open?.kind === kind) return this.#open.index;
    this.#close(out);
    const index = this.#blocks++;
    this.#open = { kind, index };
    out.push({ type: 'block_start', index, block: { type: kind } });
    return index;
  }

  #close(out: CanonicalStreamEvent[]): void {
    if (this.#open === null) return;
    out.push({ type: 'block_stop', index: this.#open.index });
    this.#open = null;
  }

  #end(out: CanonicalStreamEvent[]): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#close(out);
    out.push({
      type: 'message_delta',
      stopReason: this.#finish ?? 'end_turn',
      stopSequence: null,
      usage: this.#usage,
    });
    out.push({ type: 'message_stop' });
  }
}

/** A decoder for one upstream Chat Completions stream. */
export function createChatStreamDecoder(): StreamDecoder {
  return new ChatStreamDecoder();
}
