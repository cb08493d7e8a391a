import type { RenderContext, StreamEncoder } from '../../canonical/codec.js';
import { type JsonObject, sseEvent } from '../../canonical/json-fields.js';
import {
  type CanonicalStreamEvent,
  type CanonicalUsage,
  type StopReason,
  emptyUsage,
} from '../../canonical/types.js';
import { renderOpenAIError } from '../openai-chat/errors.js';
import { type OutputItem, idStem, itemId, renderResponsesUsage, responseBody, statusOf } from './response.js';

/** An output item being streamed, keyed by its canonical block index. */
interface OpenItem {
  kind: 'message' | 'reasoning' | 'function_call';
  id: string;
  outputIndex: number;
  /** The text or arguments so far. */
  text: string;
  /** function_call only. */
  callId: string;
  name: string;
}

/**
 * Renders canonical events as the Responses API's typed SSE events (`event: <type>` and a JSON
 * `data:` line carrying `type` and a `sequence_number` counting from 0). Each canonical block
 * becomes one output item; the stream ends with `response.completed` (or `response.incomplete`)
 * carrying the whole Response, as the SDK's `responses.stream()` helper expects.
 */
class ResponsesStreamEncoder implements StreamEncoder {
  readonly #model: string;
  #seq = 0;
  #stem: string | null = null;
  #createdAt = 0;
  readonly #open = new Map<number, OpenItem>();
  /** Finished items by output index. */
  readonly #output = new Map<number, OutputItem>();
  #outputCount = 0;
  #stop: StopReason | null = null;
  #usage: CanonicalUsage | null = null;

  constructor(ctx: RenderContext) {
    this.#model = ctx.model;
  }

  push(event: CanonicalStreamEvent): string {
    switch (event.type) {
      case 'message_start':
        this.#start(event.id);
        this.#usage = event.usage;
        return this.#lifecycle('response.created', false) + this.#lifecycle('response.in_progress', false);
      case 'block_start':
        return this.#blockStart(event.index, event.block);
      case 'text_delta':
        return this.#delta(event.index, 'message', event.text, (item) => ({
          type: 'response.output_text.delta',
          item_id: item.id,
          output_index: item.outputIndex,
          content_index: 0,
          delta: event.text,
          logprobs: [],
        }));
      case 'thinking_delta':
        return this.#delta(event.index, 'reasoning', event.text, (item) => ({
          type: 'response.reasoning_summary_text.delta',
          item_id: item.id,
          output_index: item.outputIndex,
          summary_index: 0,
          delta: event.text,
        }));
      case 'tool_args_delta':
        return this.#delta(event.index, 'function_call', event.json, (item) => ({
          type: 'response.function_call_arguments.delta',
          item_id: item.id,
          output_index: item.outputIndex,
          delta: event.json,
        }));
      case 'block_stop':
        return this.#blockStop(event.index);
      case 'message_delta':
        this.#stop = event.stopReason;
        if (event.usage !== null) this.#usage = event.usage;
        return '';
      case 'message_stop': {
        let out = '';
        for (const index of [...this.#open.keys()]) out += this.#blockStop(index);
        const complete = statusOf(this.#stop ?? 'end_turn').status === 'completed';
        return out + this.#lifecycle(complete ? 'response.completed' : 'response.incomplete', true);
      }
      default:
        return '';
    }
  }

  error(err: unknown): string {
    const { code, message, param } = renderOpenAIError(err).body.error;
    return this.#event({ type: 'error', code, message, param });
  }

  #start(id: string): string {
    this.#stem = idStem(id);
    this.#createdAt = Math.floor(Date.now() / 1000);
    return this.#stem;
  }

  /** The id stem; a stream that did not begin with `message_start` gets a fresh one. */
  #currentStem(): string {
    return this.#stem ?? this.#start('');
  }

  #event(payload: JsonObject & { type: string }): string {
    const { type, ...fields } = payload;
    return sseEvent(type, { type, sequence_number: this.#seq++, ...fields });
  }

  /** A lifecycle event carrying the Response: in progress and empty, or final with every item. */
  #lifecycle(type: string, final: boolean): string {
    const output = [...this.#output.entries()].sort(([a], [b]) => a - b).map(([, item]) => item);
    const response = responseBody({
      stem: this.#currentStem(),
      createdAt: this.#createdAt,
      model: this.#model,
      status: final
        ? statusOf(this.#stop ?? 'end_turn')
        : { status: 'in_progress', incomplete_details: null },
      output: final ? output : [],
      usage: final ? renderResponsesUsage(this.#usage ?? emptyUsage()) : null,
    });
    return this.#event({ type, response });
  }

  #blockStart(index: number, block: Extract<CanonicalStreamEvent, { type: 'block_start' }>['block']): string {
    if (block.type === 'redacted_thinking') return '';
    const stem = this.#currentStem();
    const outputIndex = this.#outputCount++;
    if (block.type === 'text') {
      const id = itemId('msg', stem, outputIndex);
      this.#open.set(index, { kind: 'message', id, outputIndex, text: '', callId: '', name: '' });
      return (
        this.#event({
          type: 'response.output_item.added',
          output_index: outputIndex,
          item: { id, type: 'message', status: 'in_progress', content: [], role: 'assistant' },
        }) +
        this.#event({
          type: 'response.content_part.added',
          item_id: id,
          output_index: outputIndex,
          content_index: 0,
          part: { type: 'output_text', annotations: [], text: '' },
        })
      );
    }
    if (block.type === 'thinking') {
      const id = itemId('rs', stem, outputIndex);
      this.#open.set(index, { kind: 'reasoning', id, outputIndex, text: '', callId: '', name: '' });
      return (
        this.#event({
          type: 'response.output_item.added',
          output_index: outputIndex,
          item: { id, type: 'reasoning', summary: [] },
        }) +
        this.#event({
          type: 'response.reasoning_summary_part.added',
          item_id: id,
          output_index: outputIndex,
          summary_index: 0,
          part: { type: 'summary_text', text: '' },
        })
      );
    }
    const id = itemId('fc', stem, outputIndex);
    this.#open.set(index, {
      kind: 'function_call',
      id,
      outputIndex,
      text: '',
      callId: block.id,
      name: block.name,
    });
    return this.#event({
      type: 'response.output_item.added',
      output_index: outputIndex,
      item: {
        id,
        type: 'function_call',
        status: 'in_progress',
        arguments: '',
        call_id: block.id,
        name: block.name,
      },
    });
  }

  #delta(
    index: number,
    kind: OpenItem['kind'],
    text: string,
    payload: (item: OpenItem) => JsonObject & { type: string },
  ): string {
    const item = this.#open.get(index);
    if (item === undefined || item.kind !== kind || text === '') return '';
    item.text += text;
    return this.#event(payload(item));
  }

  #blockStop(index: number): string {
    const item = this.#open.get(index);
    if (item === undefined) return '';
    this.#open.delete(index);
    const base = { item_id: item.id, output_index: item.outputIndex };
    let out: string;
    let done: OutputItem;
    if (item.kind === 'message') {
      const part = { type: 'output_text' as const, text: item.text, annotations: [] as [] };
      done = { type: 'message', id: item.id, status: 'completed', role: 'assistant', content: [part] };
      out =
        this.#event({
          type: 'response.output_text.done',
          ...base,
          content_index: 0,
          text: item.text,
          logprobs: [],
        }) + this.#event({ type: 'response.content_part.done', ...base, content_index: 0, part });
    } else if (item.kind === 'reasoning') {
      const part = { type: 'summary_text' as const, text: item.text };
      done = { type: 'reasoning', id: item.id, summary: [part] };
      out =
        this.#event({
          type: 'response.reasoning_summary_text.done',
          ...base,
          summary_index: 0,
          text: item.text,
        }) + this.#event({ type: 'response.reasoning_summary_part.done', ...base, summary_index: 0, part });
    } else {
      done = {
        type: 'function_call',
        id: item.id,
        call_id: item.callId,
        name: item.name,
        arguments: item.text,
        status: 'completed',
      };
      out = this.#event({ type: 'response.function_call_arguments.done', ...base, arguments: item.text });
    }
    this.#output.set(item.outputIndex, done);
    return (
      out + this.#event({ type: 'response.output_item.done', output_index: item.outputIndex, item: done })
    );
  }
}

/** A Responses event encoder for one client stream. */
export function createResponsesStreamEncoder(ctx: RenderContext): StreamEncoder {
  return new ResponsesStreamEncoder(ctx);
}
