import { UpstreamError } from '@switchyard/core';
import type { FramedEvent, StreamDecoder } from '../../canonical/codec.js';
import { isObject } from '../../canonical/json-fields.js';
import type { JsonObject } from '../../canonical/json-fields.js';
import type {
  CanonicalBlock,
  CanonicalStreamEvent,
  CanonicalUsage,
  StopReason,
} from '../../canonical/types.js';
import { converseStreamError } from './errors.js';
import { converseResponseId, stopSequenceOf } from './response.js';
import { stopReasonFromConverse, usageFromConverse } from './usage.js';

/**
 * Decodes ConverseStream events (already unframed from the AWS event stream: `event` is the event
 * type, `data` its JSON). Converse block indexes map to canonical ones in start order; a text or
 * reasoning block may arrive without a contentBlockStart and starts at its first delta. The stop
 * reason of messageStop is held until the metadata event brings the usage (or the body ends), then
 * message_delta and message_stop go out. Exception events throw an UpstreamError
 * (`upstream_stream_error`).
 */
export class ConverseStreamDecoder implements StreamDecoder {
  readonly #blocks = new Map<number, { index: number; open: boolean }>();
  #nextIndex = 0;
  #started = false;
  #stop: { reason: StopReason; sequence: string | null } | null = null;
  #complete = false;
  #usage: CanonicalUsage | null = null;

  get complete(): boolean {
    return this.#complete;
  }

  get usage(): CanonicalUsage | null {
    return this.#usage;
  }

  push(event: FramedEvent): CanonicalStreamEvent[] {
    const name = event.event ?? '';
    if (name.endsWith('Exception')) throw converseStreamError(name, event.data);
    if (this.#complete) return [];
    const data = parseData(event.data);
    const out: CanonicalStreamEvent[] = [];
    this.#start(out);
    switch (name) {
      case 'contentBlockStart': {
        const start = isObject(data.start) ? data.start : {};
        if (isObject(start.toolUse)) {
          const id = typeof start.toolUse.toolUseId === 'string' ? start.toolUse.toolUseId : '';
          const toolName = typeof start.toolUse.name === 'string' ? start.toolUse.name : '';
          this.#block(data, { type: 'tool_call', id, name: toolName }, out);
        }
        break;
      }
      case 'contentBlockDelta':
        this.#delta(data, out);
        break;
      case 'contentBlockStop': {
        const block = this.#blocks.get(blockIndex(data));
        if (block?.open === true) {
          block.open = false;
          out.push({ type: 'block_stop', index: block.index });
        }
        break;
      }
      case 'messageStop':
        this.#closeAll(out);
        this.#stop = {
          reason: stopReasonFromConverse(data.stopReason),
          sequence: stopSequenceOf(data.additionalModelResponseFields),
        };
        break;
      case 'metadata':
        this.#usage = usageFromConverse(data.usage) ?? this.#usage;
        if (this.#stop !== null) this.#finish(this.#stop, out);
        break;
    }
    return out;
  }

  end(): CanonicalStreamEvent[] {
    if (this.#complete || this.#stop === null) return [];
    const out: CanonicalStreamEvent[] = [];
    this.#finish(this.#stop, out);
    return out;
  }

  #start(out: CanonicalStreamEvent[]): void {
    if (this.#started) return;
    this.#started = true;
    out.push({ type: 'message_start', id: converseResponseId(), model: '', usage: null });
  }

  /** The canonical index of the block `data` names, started as `block` when it is new. */
  #block(data: JsonObject, block: CanonicalBlock, out: CanonicalStreamEvent[]): number {
    const at = blockIndex(data);
    const known = this.#blocks.get(at);
    if (known !== undefined) return known.index;
    const index = this.#nextIndex++;
    this.#blocks.set(at, { index, open: true });
    out.push({ type: 'block_start', index, block });
    return index;
  }

  #delta(data: JsonObject, out: CanonicalStreamEvent[]): void {
    const delta = isObject(data.delta) ? data.delta : {};
    if (typeof delta.text === 'string') {
      const index = this.#block(data, { type: 'text' }, out);
      if (delta.text !== '') out.push({ type: 'text_delta', index, text: delta.text });
    } else if (isObject(delta.toolUse)) {
      const index = this.#block(data, { type: 'tool_call', id: '', name: '' }, out);
      const input = delta.toolUse.input;
      if (typeof input === 'string' && input !== '')
        out.push({ type: 'tool_args_delta', index, json: input });
    } else if (isObject(delta.reasoningContent)) {
      const r = delta.reasoningContent;
      if (typeof r.redactedContent === 'string') {
        this.#block(data, { type: 'redacted_thinking', data: r.redactedContent }, out);
        return;
      }
      const index = this.#block(data, { type: 'thinking' }, out);
      if (typeof r.text === 'string' && r.text !== '')
        out.push({ type: 'thinking_delta', index, text: r.text });
      if (typeof r.signature === 'string' && r.signature !== '') {
        out.push({ type: 'signature_delta', index, signature: r.signature });
      }
    }
  }

  #closeAll(out: CanonicalStreamEvent[]): void {
    for (const block of this.#blocks.values()) {
      if (!block.open) continue;
      block.open = false;
      out.push({ type: 'block_stop', index: block.index });
    }
  }

  #finish(stop: { reason: StopReason; sequence: string | null }, out: CanonicalStreamEvent[]): void {
    out.push({
      type: 'message_delta',
      stopReason: stop.reason,
      stopSequence: stop.sequence,
      usage: this.#usage,
    });
    out.push({ type: 'message_stop' });
    this.#complete = true;
  }
}

function blockIndex(data: JsonObject): number {
  return typeof data.contentBlockIndex === 'number' ? data.contentBlockIndex : 0;
}

function parseData(text: string): JsonObject {
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UpstreamError('The Bedrock Converse upstream stream sent an event that is not JSON.', {
      retryable: false,
      code: 'upstream_stream_error',
    });
  }
  if (!isObject(v)) {
    throw new UpstreamError('The Bedrock Converse upstream stream sent an event that is not an object.', {
      retryable: false,
      code: 'upstream_stream_error',
    });
  }
  return v;
}
