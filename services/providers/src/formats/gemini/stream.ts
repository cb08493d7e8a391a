import type { RenderContext, StreamEncoder } from '../../canonical/codec.js';
import { parseArguments } from '../../canonical/json-fields.js';
import { emptyUsage } from '../../canonical/types.js';
import type { CanonicalStreamEvent, CanonicalUsage } from '../../canonical/types.js';
import { renderGeminiError } from './errors.js';
import { finishReasonToGemini } from './finish-reason.js';
import type { GeminiPart, GeminiResponseBody } from './types.js';
import { usageToGemini } from './usage.js';

type OpenBlock =
  | { kind: 'text' }
  | { kind: 'thinking'; shown: boolean }
  | { kind: 'tool_call'; id: string; name: string; json: string }
  | { kind: 'redacted_thinking' };

/**
 * Renders canonical stream events as `streamGenerateContent` output: with `alt=sse` one
 * `data: {GenerateContentResponse}` event per chunk, else the same chunks as one JSON array written
 * as they come (`[` before the first, `,\r\n` between, `]` at the end). Each text or thinking delta
 * is a chunk with that one part; a tool call waits for its block to end and goes as one functionCall
 * part (Gemini never streams partial arguments); the last chunk carries finishReason and
 * usageMetadata. Thought signatures follow `parts.ts`: one that ends a block with shown thinking is
 * a thought part of its own, one on a block without text goes onto the next text or functionCall.
 */
export class GeminiStreamEncoder implements StreamEncoder {
  readonly #sse: boolean;
  readonly #model: string;
  readonly #blocks = new Map<number, OpenBlock>();
  #id = '';
  #usage: CanonicalUsage | null = null;
  #chunks = 0;
  #ended = false;
  #pendingSignature: string | null = null;

  constructor(ctx: RenderContext) {
    this.#sse = ctx.sse;
    this.#model = ctx.model;
  }

  push(event: CanonicalStreamEvent): string {
    if (this.#ended) return '';
    switch (event.type) {
      case 'message_start':
        this.#id = event.id;
        this.#usage = event.usage;
        return '';
      case 'block_start': {
        const b = event.block;
        this.#blocks.set(
          event.index,
          b.type === 'tool_call'
            ? { kind: 'tool_call', id: b.id, name: b.name, json: '' }
            : b.type === 'thinking'
              ? { kind: 'thinking', shown: false }
              : { kind: b.type },
        );
        return '';
      }
      case 'text_delta':
        return event.text === '' ? '' : this.#chunk([this.#signed({ text: event.text })]);
      case 'thinking_delta': {
        const block = this.#blocks.get(event.index);
        if (event.text === '') return '';
        if (block?.kind === 'thinking') block.shown = true;
        return this.#chunk([...this.#flushSignature(), { text: event.text, thought: true }]);
      }
      case 'signature_delta': {
        const block = this.#blocks.get(event.index);
        if (block?.kind === 'thinking' && block.shown) {
          return this.#chunk([{ text: '', thought: true, thoughtSignature: event.signature }]);
        }
        this.#pendingSignature = event.signature;
        return '';
      }
      case 'tool_args_delta': {
        const block = this.#blocks.get(event.index);
        if (block?.kind === 'tool_call') block.json += event.json;
        return '';
      }
      case 'block_stop': {
        const block = this.#blocks.get(event.index);
        this.#blocks.delete(event.index);
        if (block?.kind !== 'tool_call') return '';
        const functionCall = { name: block.name, args: parseArguments(block.json), id: block.id };
        return this.#chunk([this.#signed({ functionCall })]);
      }
      case 'message_delta':
        return this.#chunk(this.#flushSignature(), {
          finishReason: finishReasonToGemini(event.stopReason),
          usage: event.usage ?? this.#usage ?? emptyUsage(),
        });
      case 'message_stop':
        this.#ended = true;
        if (this.#sse) return '';
        return this.#chunks === 0 ? '[]' : ']';
    }
  }

  error(err: unknown): string {
    if (this.#ended) return '';
    this.#ended = true;
    const text = JSON.stringify(renderGeminiError(err).body);
    if (this.#sse) return `data: ${text}\r\n\r\n`;
    return `${this.#chunks === 0 ? '[' : ',\r\n'}${text}]`;
  }

  #signed(part: GeminiPart): GeminiPart {
    if (this.#pendingSignature !== null) part.thoughtSignature = this.#pendingSignature;
    this.#pendingSignature = null;
    return part;
  }

  #flushSignature(): GeminiPart[] {
    const signature = this.#pendingSignature;
    this.#pendingSignature = null;
    return signature === null ? [] : [{ text: '', thought: true, thoughtSignature: signature }];
  }

  #chunk(parts: GeminiPart[], end?: { finishReason: string; usage: CanonicalUsage }): string {
    const chunk: GeminiResponseBody = {
      candidates: [
        {
          content: { role: 'model', parts },
          ...(end === undefined ? {} : { finishReason: end.finishReason }),
          index: 0,
        },
      ],
      ...(end === undefined ? {} : { usageMetadata: usageToGemini(end.usage) }),
      modelVersion: this.#model,
      responseId: this.#id,
    };
    const text = JSON.stringify(chunk);
    const prefix = this.#chunks === 0 ? '[' : ',\r\n';
    this.#chunks++;
    return this.#sse ? `data: ${text}\r\n\r\n` : `${prefix}${text}`;
  }
}
