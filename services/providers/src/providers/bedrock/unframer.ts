import { UpstreamError } from '@switchyard/core';
import type { FramedEvent } from '../../canonical/codec.js';
import { isObject } from '../../canonical/json-fields.js';
import type { WireFormat } from '../../canonical/types.js';
import type { Unframer } from '../../provider-adapter.js';
import { unsupportedFormat } from '../shared/errors.js';
import { EventStreamDecoder, type EventStreamMessage } from './eventstream.js';

/**
 * Unframes a Bedrock event stream into the events the format's stream decoder reads:
 * - `bedrock-converse` (ConverseStream): each event message is `{event: its :event-type, data: its
 *   JSON payload}`; an exception is `{event: its :exception-type, data: its payload}`.
 * - `anthropic-messages` (InvokeModelWithResponseStream): each `chunk` event carries
 *   `{"bytes": base64}` of one Anthropic stream event, which becomes `{event: its type, data: its
 *   JSON}`; an exception becomes an Anthropic `error` event.
 */
export function createBedrockUnframer(format: WireFormat): Unframer {
  if (format !== 'bedrock-converse' && format !== 'anthropic-messages')
    throw unsupportedFormat('bedrock', format);
  const decoder = new EventStreamDecoder();
  const frame = format === 'anthropic-messages' ? anthropicEvent : converseEvent;
  return {
    push(chunk) {
      const out: FramedEvent[] = [];
      for (const m of decoder.push(chunk)) {
        const e = frame(m);
        if (e !== null) out.push(e);
      }
      return out;
    },
    end() {
      decoder.end();
      return [];
    },
  };
}

const text = new TextDecoder();

function header(m: EventStreamMessage, name: string): string | null {
  const v = m.headers[name];
  return typeof v === 'string' ? v : null;
}

/** An exception (`:message-type: exception`) or a protocol error (`:message-type: error`), else null. */
function failure(m: EventStreamMessage): { type: string; message: string; payload: string } | null {
  const kind = header(m, ':message-type');
  if (kind === 'exception') {
    const payload = text.decode(m.payload);
    const type = header(m, ':exception-type') ?? 'unknownException';
    return { type, message: messageOf(payload) ?? type, payload };
  }
  if (kind === 'error') {
    // A protocol-level error: named like an exception (decoders recognise `...Exception` events),
    // with its code kept in the message.
    const code = header(m, ':error-code') ?? 'UnknownError';
    const message = `${code}: ${header(m, ':error-message') ?? 'the event stream failed'}`;
    const type = code.endsWith('Exception') ? code : 'internalServerException';
    return { type, message, payload: JSON.stringify({ message }) };
  }
  return null;
}

function converseEvent(m: EventStreamMessage): FramedEvent | null {
  const f = failure(m);
  if (f !== null) return { event: f.type, data: f.payload };
  const type = header(m, ':event-type');
  return type === null ? null : { event: type, data: text.decode(m.payload) };
}

function anthropicEvent(m: EventStreamMessage): FramedEvent | null {
  const f = failure(m);
  if (f !== null) {
    const overloaded = /^(throttling|serviceunavailable)/i.test(f.type);
    return {
      event: 'error',
      data: JSON.stringify({
        type: 'error',
        error: { type: overloaded ? 'overloaded_error' : 'api_error', message: f.message },
      }),
    };
  }
  if (header(m, ':event-type') !== 'chunk') return null;
  const chunk = parseJson(text.decode(m.payload));
  const bytes = isObject(chunk) && typeof chunk.bytes === 'string' ? chunk.bytes : null;
  if (bytes === null) throw badChunk('has no bytes');
  const json = Buffer.from(bytes, 'base64').toString('utf8');
  const event = parseJson(json);
  if (!isObject(event) || typeof event.type !== 'string') throw badChunk('is not an Anthropic stream event');
  return { event: event.type, data: json };
}

function messageOf(payload: string): string | null {
  const v = parseJson(payload);
  if (!isObject(v)) return null;
  const m = v.message ?? v.Message;
  return typeof m === 'string' ? m : null;
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

function badChunk(what: string): UpstreamError {
  return new UpstreamError(`A Bedrock stream chunk ${what}.`, {
    retryable: true,
    code: 'upstream_bad_stream',
  });
}
