import { readFileSync } from 'node:fs';
import { InvalidRequestError } from '@switchyard/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CanonicalStreamEvent } from '../../canonical/types.js';
import { SseParser } from '../../sse/sse-parser.js';
import { openaiResponsesClientCodec } from './index.js';

const text = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const events = JSON.parse(text('canonical-stream.events.json')) as CanonicalStreamEvent[];
const ctx = { model: 'gpt-4.1', includeUsage: false, sse: true };

function encode(list: CanonicalStreamEvent[]): string {
  const encoder = openaiResponsesClientCodec.createStreamEncoder(ctx);
  return list.map((e) => encoder.push(e)).join('');
}

/** The `data:` objects of an SSE text, after checking each `event:` name equals its `type`. */
function payloads(sse: string): Array<Record<string, unknown>> {
  return new SseParser().push(Buffer.from(sse)).map((e) => {
    const data = JSON.parse(e.data ?? 'null') as Record<string, unknown>;
    expect(e.event).toBe(data.type);
    return data;
  });
}

describe('canonical events → Responses client stream', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_747_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('when the tool-call answer is encoded, then the typed events equal the fixture', () => {
    expect(encode(events)).toBe(text('client-stream.sse'));
  });

  it('when events are encoded, then sequence numbers count from 0 without gaps', () => {
    const seq = payloads(encode(events)).map((p) => p.sequence_number);
    expect(seq).toEqual(seq.map((_, i) => i));
  });

  it('when the answer hit the token limit, then the stream ends with response.incomplete', () => {
    const cut = events.map((e) =>
      e.type === 'message_delta' ? { ...e, stopReason: 'max_tokens' as const } : e,
    );
    const last = payloads(encode(cut)).at(-1)!;
    expect(last.type).toBe('response.incomplete');
    expect(last.response).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
    });
  });

  it('when the upstream ends with blocks still open, then they are closed before the final event', () => {
    const open = events.filter((e) => !(e.type === 'block_stop' && e.index === 4));
    const types = payloads(encode(open)).map((p) => p.type);
    expect(types.slice(-3)).toEqual([
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
  });

  it('when an error follows, then it is an error event with code, message, param and the next sequence number', () => {
    const encoder = openaiResponsesClientCodec.createStreamEncoder(ctx);
    const head = events
      .slice(0, 3)
      .map((e) => encoder.push(e))
      .join('');
    const err = encoder.error(
      new InvalidRequestError('too long', { param: 'input', code: 'context_length_exceeded' }),
    );
    expect(err).toBe(
      'event: error\ndata: {"type":"error","sequence_number":5,"code":"context_length_exceeded","message":"too long","param":"input"}\n\n',
    );
    expect(payloads(head)).toHaveLength(5);
  });
});
