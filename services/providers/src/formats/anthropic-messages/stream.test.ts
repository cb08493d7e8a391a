import { readFileSync } from 'node:fs';
import { InvalidRequestError, UpstreamError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { FramedEvent, RenderContext } from '../../canonical/codec.js';
import type { CanonicalStreamEvent } from '../../canonical/types.js';
import { SseParser } from '../../sse/sse-parser.js';
import { anthropicClientCodec, anthropicUpstreamCodec } from './index.js';

const read = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const fixture = <T>(name: string): T => JSON.parse(read(name)) as T;

const ctx: RenderContext = { model: 'claude-sonnet-4-5', includeUsage: false, sse: true };
const CASES = ['text', 'tool-use', 'thinking'];

/** `text` as UTF-8 bytes cut every `size` bytes (multi-byte characters may be cut too). */
function chunks(text: string, size: number): Uint8Array[] {
  const bytes = Buffer.from(text, 'utf8');
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

/** Feeds SSE text through the SSE parser and the Anthropic decoder. */
function decode(text: string, size = text.length) {
  const parser = new SseParser();
  const decoder = anthropicUpstreamCodec.createStreamDecoder();
  const events: CanonicalStreamEvent[] = [];
  const feed = (framed: FramedEvent[]) => framed.forEach((f) => events.push(...decoder.push(f)));
  const framedOf = (list: ReturnType<SseParser['push']>) =>
    list.map((e) => ({ event: e.event, data: e.data ?? '' }));
  for (const c of chunks(text, size)) feed(framedOf(parser.push(c)));
  feed(framedOf(parser.end()));
  events.push(...decoder.end());
  return { events, decoder };
}

function encode(events: CanonicalStreamEvent[]): string {
  const encoder = anthropicClientCodec.createStreamEncoder(ctx);
  return events.map((e) => encoder.push(e)).join('');
}

/** SSE text as `{event, data}` pairs with parsed JSON data, checking each event's framing. */
function sseEvents(text: string): Array<{ event: string | null; data: unknown }> {
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .slice(0, -2)
    .split('\n\n')
    .map((raw) => {
      const m = /^event: ([a-z_]+)\ndata: (.*)$/s.exec(raw);
      expect(m, raw).not.toBeNull();
      return { event: m![1]!, data: JSON.parse(m![2]!) as unknown };
    });
}

describe('Anthropic upstream stream → canonical events (golden)', () => {
  for (const name of CASES) {
    const text = read(`${name}.upstream-stream.sse`);
    const expected = fixture<CanonicalStreamEvent[]>(`${name}.canonical-events.json`);
    for (const size of [1, 2, 3, 7, 16, 64, 1000, text.length]) {
      it(`when the ${name} stream arrives in ${size}-byte chunks, then the canonical events are the expected ones`, () => {
        const { events, decoder } = decode(text, size);
        expect(events).toEqual(expected);
        expect(decoder.complete).toBe(true);
      });
    }
  }
  it('when the stream ends, then the decoder reports the final usage, cache reads included', () => {
    const { decoder } = decode(read('tool-use.upstream-stream.sse'));
    expect(decoder.usage).toEqual({
      inputTokens: 2520,
      outputTokens: 89,
      cachedInputTokens: 2048,
      cacheCreationInputTokens: 0,
      reasoningTokens: 0,
    });
  });
  it('when the stream is cut before message_stop, then complete stays false and end() owes nothing', () => {
    const text = read('text.upstream-stream.sse');
    const { events, decoder } = decode(text.slice(0, text.indexOf('event: message_delta')));
    expect(decoder.complete).toBe(false);
    expect(events.at(-1)).toEqual({ type: 'block_stop', index: 0 });
    expect(decoder.end()).toEqual([]);
  });
  it('when the upstream sends an overloaded error event, then it throws a non-retryable UpstreamError keeping the type', () => {
    const decoder = anthropicUpstreamCodec.createStreamDecoder();
    const data = JSON.stringify({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
    let caught: unknown;
    try {
      decoder.push({ event: 'error', data });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UpstreamError);
    const err = caught as UpstreamError;
    expect(err.code).toBe('upstream_stream_error');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('overloaded_error');
    expect(err.message).toContain('Overloaded');
  });
  it('when an event is not JSON, then it is an UpstreamError', () => {
    const decoder = anthropicUpstreamCodec.createStreamDecoder();
    expect(() => decoder.push({ event: 'message_start', data: '{nope' })).toThrow(UpstreamError);
  });
  it('when events carry no SSE name (Bedrock payloads), then the JSON type is used', () => {
    const decoder = anthropicUpstreamCodec.createStreamDecoder();
    const out = decoder.push({ event: null, data: '{"type":"message_stop"}' });
    expect(out).toEqual([{ type: 'message_stop' }]);
    expect(decoder.complete).toBe(true);
  });
  it('when the upstream interleaves server-tool blocks and citations, then they are skipped and indexes stay dense', () => {
    const decoder = anthropicUpstreamCodec.createStreamDecoder();
    const push = (o: unknown) => decoder.push({ event: null, data: JSON.stringify(o) });
    const out = [
      push({
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'server_tool_use', id: 's', name: 'web_search', input: {} },
      }),
      push({
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'input_json_delta', partial_json: '{"q":1}' },
      }),
      push({ type: 'content_block_stop', index: 0 }),
      push({ type: 'content_block_start', index: 1, content_block: { type: 'text', text: 'Hi' } }),
      push({ type: 'content_block_delta', index: 1, delta: { type: 'citations_delta', citation: {} } }),
      push({ type: 'content_block_stop', index: 1 }),
      push({
        type: 'content_block_start',
        index: 2,
        content_block: { type: 'redacted_thinking', data: 'ENC' },
      }),
      push({ type: 'content_block_stop', index: 2 }),
    ].flat();
    expect(out).toEqual([
      { type: 'block_start', index: 0, block: { type: 'text' } },
      { type: 'text_delta', index: 0, text: 'Hi' },
      { type: 'block_stop', index: 0 },
      { type: 'block_start', index: 1, block: { type: 'redacted_thinking', data: 'ENC' } },
      { type: 'block_stop', index: 1 },
    ]);
  });
});

describe('canonical events → Anthropic client stream (golden)', () => {
  for (const name of ['text', 'thinking']) {
    it(`when the ${name} events are encoded, then the SSE events are the expected ones`, () => {
      const text = encode(fixture<CanonicalStreamEvent[]>(`${name}.canonical-events.json`));
      expect(sseEvents(text)).toEqual(fixture(`${name}.client-stream.json`));
    });
  }
  it('when message_start and message_delta carry usage, then cache fields are split out of input_tokens', () => {
    const text = encode(fixture<CanonicalStreamEvent[]>('tool-use.canonical-events.json'));
    const events = sseEvents(text);
    expect(events[0]!.data).toMatchObject({
      message: {
        usage: {
          input_tokens: 472,
          cache_read_input_tokens: 2048,
          cache_creation_input_tokens: 0,
          output_tokens: 2,
        },
      },
    });
    expect(events.find((e) => e.event === 'message_delta')!.data).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: {
        input_tokens: 472,
        cache_read_input_tokens: 2048,
        cache_creation_input_tokens: 0,
        output_tokens: 89,
      },
    });
    expect(events.filter((e) => e.event === 'content_block_delta').map((e) => e.data)).toContainEqual({
      type: 'content_block_delta',
      index: 1,
      delta: { type: 'input_json_delta', partial_json: '"unit": "fah' },
    });
  });
  it('when a redacted thinking block or a content_filter stop is encoded, then Anthropic shapes are used', () => {
    const text = encode([
      { type: 'message_start', id: 'gen-1', model: 'x', usage: null },
      { type: 'block_start', index: 0, block: { type: 'redacted_thinking', data: 'ENC' } },
      { type: 'block_stop', index: 0 },
      { type: 'message_delta', stopReason: 'content_filter', stopSequence: null, usage: null },
    ]);
    const events = sseEvents(text);
    expect(events[0]!.data).toMatchObject({ message: { id: 'msg_gen-1', model: 'claude-sonnet-4-5' } });
    expect(events[2]!.data).toEqual({
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'redacted_thinking', data: 'ENC' },
    });
    expect(events[4]!.data).toMatchObject({ delta: { stop_reason: 'refusal' } });
  });
  it('when an error happens mid-stream, then an Anthropic error event is written', () => {
    const encoder = anthropicClientCodec.createStreamEncoder(ctx);
    expect(encoder.error(new UpstreamError('upstream went away', { retryable: false }))).toBe(
      'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"upstream went away"}}\n\n',
    );
    expect(encoder.error(new InvalidRequestError('bad'))).toContain('"type":"invalid_request_error"');
    expect(encoder.error(new Error('secret'))).toBe(
      'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"The gateway hit an internal error."}}\n\n',
    );
  });
});

describe('Anthropic stream encoder and decoder are inverses', () => {
  for (const name of ['text', 'tool-use']) {
    it(`when the ${name} events are encoded and decoded again in small chunks, then they come back unchanged`, () => {
      const events = fixture<CanonicalStreamEvent[]>(`${name}.canonical-events.json`);
      const { events: back, decoder } = decode(encode(events), 5);
      expect(back).toEqual(events.map((e) => (e.type === 'message_start' ? { ...e, model: ctx.model } : e)));
      expect(decoder.complete).toBe(true);
    });
  }
  it('when a thinking + redacted thinking + tool call stream with usage round-trips, then it comes back unchanged', () => {
    const usage = {
      inputTokens: 900,
      outputTokens: 40,
      cachedInputTokens: 300,
      cacheCreationInputTokens: 100,
      reasoningTokens: 0,
    };
    const events: CanonicalStreamEvent[] = [
      { type: 'message_start', id: 'msg_rt', model: ctx.model, usage: { ...usage, outputTokens: 1 } },
      { type: 'block_start', index: 0, block: { type: 'thinking' } },
      { type: 'thinking_delta', index: 0, text: 'Let me think… ünïcode' },
      { type: 'signature_delta', index: 0, signature: 'sig==' },
      { type: 'block_stop', index: 0 },
      { type: 'block_start', index: 1, block: { type: 'redacted_thinking', data: 'ENC' } },
      { type: 'block_stop', index: 1 },
      { type: 'block_start', index: 2, block: { type: 'tool_call', id: 'toolu_1', name: 'get_weather' } },
      { type: 'tool_args_delta', index: 2, json: '{"location":' },
      { type: 'tool_args_delta', index: 2, json: '"Paris"}' },
      { type: 'block_stop', index: 2 },
      { type: 'message_delta', stopReason: 'tool_use', stopSequence: null, usage },
      { type: 'message_stop' },
    ];
    expect(decode(encode(events), 3).events).toEqual(events);
  });
});
