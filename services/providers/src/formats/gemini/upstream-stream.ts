import { randomUUID } from 'node:crypto';
import { UpstreamError } from '@switchyard/core';
import type { FramedEvent, StreamDecoder } from '../../canonical/codec.js';
import { isObject } from '../../canonical/json-fields.js';
import type { JsonObject } from '../../canonical/json-fields.js';
import type { CanonicalStreamEvent, CanonicalUsage } from '../../canonical/types.js';
import { geminiStreamError } from './errors.js';
import { camelKeys } from './fields.js';
import { stopReasonFromGemini } from './finish-reason.js';
import { CallIdSequence } from './upstream-response.js';
import { usageFromGemini } from './usage.js';

/**
 * Decodes `streamGenerateContent?alt=sse`: every data event is a whole GenerateContentResponse.
 * Text and thought parts open a text or thinking block, or extend the open one across chunks; each
 * functionCall is a complete block (start, its whole `args` as one JSON delta, stop). Signatures
 * follow `parts.ts`: on a thought part a signature_delta of that thinking block, on another part a
 * signature-only thinking block before it. The chunk with a finishReason ends the answer with a
 * message_delta carrying that chunk's usage; message_stop follows when the body ends. An
 * `{"error": ...}` chunk throws an UpstreamError (`upstream_stream_error`).
 */
export class GeminiStreamDecoder implements StreamDecoder {
  readonly #ids = new CallIdSequence();
  #started = false;
  #finished = false;
  #complete = false;
  #usage: CanonicalUsage | null = null;
  #nextIndex = 0;
  #open: { index: number; kind: 'text' | 'thinking'; signed: boolean } | null = null;
  #sawCall = false;

  get complete(): boolean {
    return this.#complete;
  }

  get usage(): CanonicalUsage | null {
    return this.#usage;
  }

  push(event: FramedEvent): CanonicalStreamEvent[] {
    if (event.data.trim() === '') return [];
    let chunk: unknown;
    try {
      chunk = JSON.parse(event.data);
    } catch {
      throw new UpstreamError('The Gemini upstream stream sent an event that is not JSON.', {
        retryable: false,
        code: 'upstream_stream_error',
      });
    }
    if (!isObject(chunk)) {
      throw new UpstreamError('The Gemini upstream stream sent an event that is not an object.', {
        retryable: false,
        code: 'upstream_stream_error',
      });
    }
    if (chunk.error !== undefined && chunk.error !== null) throw geminiStreamError(chunk.error);
    const out: CanonicalStreamEvent[] = [];
    const usage = usageFromGemini(chunk.usageMetadata);
    if (usage !== null) this.#usage = usage;
    if (!this.#started) {
      this.#started = true;
      out.push({
        type: 'message_start',
        id: typeof chunk.responseId === 'string' ? chunk.responseId : `gemini-${randomUUID()}`,
        model: typeof chunk.modelVersion === 'string' ? chunk.modelVersion : '',
        usage,
      });
    }
    if (this.#finished) return out;
    const candidate: unknown = Array.isArray(chunk.candidates) ? chunk.candidates[0] : undefined;
    const c = isObject(candidate) ? candidate : {};
    const parts: unknown = isObject(c.content) ? c.content.parts : undefined;
    for (const part of Array.isArray(parts) ? (parts as unknown[]) : []) {
      if (isObject(part)) this.#part(camelKeys(part), out);
    }
    const blocked =
      candidate === undefined &&
      isObject(chunk.promptFeedback) &&
      typeof chunk.promptFeedback.blockReason === 'string';
    if (typeof c.finishReason === 'string' || blocked) {
      this.#close(out);
      this.#finished = true;
      out.push({
        type: 'message_delta',
        stopReason: blocked ? 'content_filter' : stopReasonFromGemini(c.finishReason, this.#sawCall),
        stopSequence: null,
        usage: this.#usage,
      });
    }
    return out;
  }

  end(): CanonicalStreamEvent[] {
    if (!this.#finished || this.#complete) return [];
    this.#complete = true;
    return [{ type: 'message_stop' }];
  }

  #part(part: JsonObject, out: CanonicalStreamEvent[]): void {
    const signature =
      typeof part.thoughtSignature === 'string' && part.thoughtSignature !== ''
        ? part.thoughtSignature
        : null;
    const text = typeof part.text === 'string' ? part.text : null;
    if (part.thought === true) {
      if ((text ?? '') === '' && signature === null) return;
      const open =
        this.#open?.kind === 'thinking' && !this.#open.signed ? this.#open : this.#start('thinking', out);
      if (text !== null && text !== '') out.push({ type: 'thinking_delta', index: open.index, text });
      if (signature !== null) {
        out.push({ type: 'signature_delta', index: open.index, signature });
        open.signed = true;
      }
      return;
    }
    if (signature !== null) {
      const index = this.#start('thinking', out).index;
      out.push({ type: 'signature_delta', index, signature });
      this.#close(out);
    }
    if (text !== null) {
      if (text === '') return;
      const open = this.#open?.kind === 'text' ? this.#open : this.#start('text', out);
      out.push({ type: 'text_delta', index: open.index, text });
    } else if (isObject(part.functionCall) && typeof part.functionCall.name === 'string') {
      this.#close(out);
      const call = part.functionCall;
      const index = this.#nextIndex++;
      const args = isObject(call.args) ? call.args : {};
      out.push({
        type: 'block_start',
        index,
        block: { type: 'tool_call', id: this.#ids.next(call.id), name: call.name as string },
      });
      out.push({ type: 'tool_args_delta', index, json: JSON.stringify(args) });
      out.push({ type: 'block_stop', index });
      this.#sawCall = true;
    }
  }

  #start(
    kind: 'text' | 'thinking',
    out: CanonicalStreamEvent[],
  ): { index: number; kind: 'text' | 'thinking'; signed: boolean } {
    this.#close(out);
    const open = { index: this.#nextIndex++, kind, signed: false };
    out.push({ type: 'block_start', index: open.index, block: { type: kind } });
    this.#open = open;
    return open;
  }

  #close(out: CanonicalStreamEvent[]): void {
    if (this.#open === null) return;
    out.push({ type: 'block_stop', index: this.#open.index });
    this.#open = null;
  }
}
