import { readFileSync } from 'node:fs';
import { InvalidRequestError, UpstreamError } from '@switchyard/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StreamDecoder } from '../../canonical/codec.js';
import type { CanonicalStreamEvent } from '../../canonical/types.js';
import { SseParser } from '../../sse/sse-parser.js';
import { openaiChatClientCodec, openaiChatUpstreamCodec } from './index.js';

const text = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const fixture = <T>(name: string): T => JSON.parse(text(name)) as T;

/** Cut points for `length` bytes: every byte, or a seeded pseudo-random walk of 1..40-byte pieces. */
function splits(length: number, seed: number | 'every-byte'): number[] {
  if (seed === 'every-byte') return Array.from({ length }, (_, i) => i + 1);
  const cuts: number[] = [];
  let s = seed;
  for (let at = 0; at < length;) {
    s = (s * 1103515245 + 12345) % 2147483648; // the classic ANSI C LCG, for reproducible splits
    at = Math.min(length, at + 1 + (s % 40));
    cuts.push(at);
  }
  return cuts;
}

/** Feeds an SSE text through SseParser in the given pieces and the decoder, collecting its events. */
function decode(sse: string, seed: number | 'every-byte', decoder: StreamDecoder): CanonicalStreamEvent[] {
  const bytes = Buffer.from(sse, 'utf8');
  const parser = new SseParser();
  const out: CanonicalStreamEvent[] = [];
  let from = 0;
  const feed = (events: ReturnType<SseParser['push']>): void => {
    for (const e of events) if (e.data !== null) out.push(...decoder.push({ event: e.event, data: e.data }));
  };
  for (const to of splits(bytes.length, seed)) {
    feed(parser.push(bytes.subarray(from, to)));
    from = to;
  }
  feed(parser.end());
  out.push(...decoder.end());
  return out;
}

const chunk = (o: unknown): string => `data: ${JSON.stringify(o)}\n\n`;
const delta = (d: Record<string, unknown>, finish: string | null = null): string =>
  chunk({ id: 'c1', model: 'm', choices: [{ index: 0, delta: d, finish_reason: finish }] });

describe('OpenAI Chat upstream stream → canonical events', () => {
  it.each([
    ['tool-call', 'every-byte'],
    ['tool-call', 7],
    ['tool-call', 1234],
    ['reasoning', 'every-byte'],
    ['reasoning', 99],
  ] as const)(
    'when the recorded %s stream arrives in pieces (%s), then the events equal the fixture',
    (name, seed) => {
      const decoder = openaiChatUpstreamCodec.createStreamDecoder();
      expect(decode(text(`upstream-stream-${name}.sse`), seed, decoder)).toEqual(
        fixture(`upstream-stream-${name}.events.json`),
      );
      expect(decoder.complete).toBe(true);
    },
  );

  it('when the usage chunk arrives, then the held finish is released at once and [DONE] adds nothing', () => {
    const decoder = openaiChatUpstreamCodec.createStreamDecoder();
    decoder.push({
      event: null,
      data: JSON.stringify({ id: 'c', choices: [{ index: 0, delta: { content: 'Hi' } }] }),
    });
    expect(
      decoder.push({
        event: null,
        data: JSON.stringify({ id: 'c', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
      }),
    ).toEqual([{ type: 'block_stop', index: 0 }]);
    const usage = { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 };
    expect(
      decoder.push({ event: null, data: JSON.stringify({ id: 'c', choices: [], usage }) }).map((e) => e.type),
    ).toEqual(['message_delta', 'message_stop']);
    expect(decoder.complete).toBe(false);
    expect(decoder.push({ event: null, data: '[DONE]' })).toEqual([]);
    expect(decoder.complete).toBe(true);
    expect(decoder.usage?.inputTokens).toBe(3);
  });

  it('when the upstream ends after a finish_reason without [DONE], then end() releases the finish and the stream is complete', () => {
    const decoder = openaiChatUpstreamCodec.createStreamDecoder();
    const events = decode(delta({ content: 'Hi' }) + delta({}, 'length'), 3, decoder);
    expect(events.at(-2)).toEqual({
      type: 'message_delta',
      stopReason: 'max_tokens',
      stopSequence: null,
      usage: null,
    });
    expect(events.at(-1)).toEqual({ type: 'message_stop' });
    expect(decoder.complete).toBe(true);
  });

  it('when the upstream ends before any finish_reason, then end() owes nothing and the stream is not complete', () => {
    const decoder = openaiChatUpstreamCodec.createStreamDecoder();
    const events = decode(delta({ content: 'Hi' }), 5, decoder);
    expect(events.map((e) => e.type)).toEqual(['message_start', 'block_start', 'text_delta']);
    expect(decoder.complete).toBe(false);
  });

  it('when an error event arrives mid-stream, then an UpstreamError with its message is thrown', () => {
    const decoder = openaiChatUpstreamCodec.createStreamDecoder();
    decoder.push({
      event: null,
      data: JSON.stringify({ id: 'c', choices: [{ index: 0, delta: { content: 'Hi' } }] }),
    });
    let thrown: unknown;
    try {
      decoder.push({
        event: null,
        data: '{"error":{"message":"The server had an error","type":"server_error"}}',
      });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UpstreamError);
    expect(thrown).toMatchObject({ code: 'upstream_stream_error', message: 'The server had an error' });
  });

  it('when text follows a tool call, then the tool block is closed before the text block opens', () => {
    const decoder = openaiChatUpstreamCodec.createStreamDecoder();
    const sse =
      delta({
        tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }],
      }) +
      delta({ content: 'done' }, 'stop') +
      'data: [DONE]\n\n';
    expect(decode(sse, 'every-byte', decoder)).toEqual([
      { type: 'message_start', id: 'c1', model: 'm', usage: null },
      { type: 'block_start', index: 0, block: { type: 'tool_call', id: 'call_1', name: 'f' } },
      { type: 'tool_args_delta', index: 0, json: '{}' },
      { type: 'block_stop', index: 0 },
      { type: 'block_start', index: 1, block: { type: 'text' } },
      { type: 'text_delta', index: 1, text: 'done' },
      { type: 'block_stop', index: 1 },
      { type: 'message_delta', stopReason: 'tool_use', stopSequence: null, usage: null },
      { type: 'message_stop' },
    ]);
  });

  it('when a chunk is not JSON, then it is an UpstreamError', () => {
    const decoder = openaiChatUpstreamCodec.createStreamDecoder();
    expect(() => decoder.push({ event: null, data: '{"id":' })).toThrow(UpstreamError);
  });
});

describe('canonical events → OpenAI Chat client stream', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_747_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const events = fixture<CanonicalStreamEvent[]>('canonical-stream.events.json');
  const encode = (includeUsage: boolean): string => {
    const encoder = openaiChatClientCodec.createStreamEncoder({ model: 'gpt-4.1', includeUsage, sse: true });
    return events.map((e) => encoder.push(e)).join('');
  };

  it('when the client asked for usage, then every chunk carries usage null and a usage chunk precedes [DONE]', () => {
    expect(encode(true)).toBe(text('client-stream.sse'));
  });

  it('when the client did not ask for usage, then the chunks carry no usage field', () => {
    expect(encode(false)).toBe(text('client-stream.no-usage.sse'));
  });

  it('when the encoded stream is decoded again, then the text, tool calls and usage survive', () => {
    const decoded = decode(encode(true), 11, openaiChatUpstreamCodec.createStreamDecoder());
    const byType = (type: string) => decoded.filter((e) => e.type === type);
    expect(
      byType('text_delta')
        .map((e) => (e.type === 'text_delta' ? e.text : ''))
        .join(''),
    ).toBe('Let me look that up.');
    expect(byType('block_start').map((e) => (e.type === 'block_start' ? e.block : null))).toEqual([
      { type: 'thinking' },
      { type: 'text' },
      { type: 'tool_call', id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather' },
      { type: 'tool_call', id: 'toolu_01PmFtYGZQh6R3fLSm8cCJ1K', name: 'get_time' },
    ]);
    expect(decoded.at(-2)).toMatchObject({
      type: 'message_delta',
      stopReason: 'tool_use',
      usage: { outputTokens: 89 },
    });
  });

  it('when an error follows the first bytes, then it is a data line in the OpenAI error shape', () => {
    const encoder = openaiChatClientCodec.createStreamEncoder({
      model: 'gpt-4.1',
      includeUsage: false,
      sse: true,
    });
    encoder.push(events[0]!);
    expect(
      encoder.error(
        new UpstreamError('The upstream stream broke off.', {
          retryable: false,
          code: 'upstream_stream_cut',
        }),
      ),
    ).toBe(
      'data: {"error":{"message":"The upstream stream broke off.","type":"api_error","param":null,"code":"upstream_stream_cut"}}\n\n',
    );
  });

  it('when the error is not a gateway error, then the stream ends with a generic internal error', () => {
    const encoder = openaiChatClientCodec.createStreamEncoder({
      model: 'gpt-4.1',
      includeUsage: false,
      sse: true,
    });
    expect(JSON.parse(encoder.error(new Error('secret detail')).slice(6))).toEqual({
      error: {
        message: 'The gateway hit an internal error.',
        type: 'api_error',
        param: null,
        code: 'internal_error',
      },
    });
    expect(encoder.error(new InvalidRequestError('bad', { param: 'x' }))).toContain('"param":"x"');
  });
});
