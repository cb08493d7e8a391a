import { readFileSync } from 'node:fs';
import { UpstreamError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { FramedEvent } from '../../canonical/codec.js';
import type { CanonicalStreamEvent } from '../../canonical/types.js';
import { bedrockConverseUpstreamCodec } from './index.js';

interface StreamFixture {
  events: FramedEvent[];
  canonicalEvents: CanonicalStreamEvent[];
}

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/stream-tool-use.json', import.meta.url), 'utf8'),
) as StreamFixture;

const ev = (event: string, data: unknown): FramedEvent => ({ event, data: JSON.stringify(data) });

function decode(events: FramedEvent[]): { events: CanonicalStreamEvent[]; complete: boolean } {
  const decoder = bedrockConverseUpstreamCodec.createStreamDecoder();
  const out = events.flatMap((e) => decoder.push(e));
  out.push(...decoder.end());
  return { events: out, complete: decoder.complete };
}

describe('Bedrock ConverseStream → canonical events', () => {
  it('when the documented toolUse event sequence arrives, then the decoded events are the expected ones', () => {
    const expected = fixture.canonicalEvents.map((e) =>
      e.type === 'message_start' ? { ...e, id: expect.stringMatching(/^converse-/) } : e,
    );
    expect(decode(fixture.events)).toEqual({ events: expected, complete: true });
  });

  it('when messageStop comes, then the stop reason waits for the metadata usage', () => {
    const decoder = bedrockConverseUpstreamCodec.createStreamDecoder();
    decoder.push(ev('messageStart', { role: 'assistant' }));
    decoder.push(ev('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hi' } }));
    expect(decoder.push(ev('messageStop', { stopReason: 'max_tokens' }))).toEqual([
      { type: 'block_stop', index: 0 },
    ]);
    expect(decoder.complete).toBe(false);
    const usage = { inputTokens: 3, outputTokens: 1, totalTokens: 4, cacheReadInputTokens: 2 };
    expect(decoder.push(ev('metadata', { usage, metrics: { latencyMs: 5 } }))).toEqual([
      {
        type: 'message_delta',
        stopReason: 'max_tokens',
        stopSequence: null,
        usage: {
          inputTokens: 5,
          outputTokens: 1,
          cachedInputTokens: 2,
          cacheCreationInputTokens: 0,
          reasoningTokens: 0,
        },
      },
      { type: 'message_stop' },
    ]);
    expect(decoder.complete).toBe(true);
    expect(decoder.usage?.inputTokens).toBe(5);
    expect(decoder.end()).toEqual([]);
  });

  it('when the body ends after messageStop without metadata, then end() emits the held stop without usage', () => {
    const decoder = bedrockConverseUpstreamCodec.createStreamDecoder();
    decoder.push(ev('messageStart', { role: 'assistant' }));
    decoder.push(ev('messageStop', { stopReason: 'end_turn' }));
    expect(decoder.end()).toEqual([
      { type: 'message_delta', stopReason: 'end_turn', stopSequence: null, usage: null },
      { type: 'message_stop' },
    ]);
    expect(decoder.complete).toBe(true);
  });

  it('when the body ends before messageStop, then end() emits nothing and the stream is not complete', () => {
    const decoder = bedrockConverseUpstreamCodec.createStreamDecoder();
    decoder.push(ev('messageStart', { role: 'assistant' }));
    decoder.push(ev('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hal' } }));
    expect(decoder.end()).toEqual([]);
    expect(decoder.complete).toBe(false);
  });

  it('when reasoning streams with a signature, then it is one thinking block before the text', () => {
    const { events } = decode([
      ev('messageStart', { role: 'assistant' }),
      ev('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { text: 'Let me ' } } }),
      ev('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { text: 'think.' } } }),
      ev('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { signature: 'sig' } } }),
      ev('contentBlockStop', { contentBlockIndex: 0 }),
      ev('contentBlockDelta', { contentBlockIndex: 1, delta: { text: 'Yes.' } }),
      ev('contentBlockStop', { contentBlockIndex: 1 }),
      ev('messageStop', { stopReason: 'end_turn' }),
    ]);
    expect(events.slice(1)).toEqual([
      { type: 'block_start', index: 0, block: { type: 'thinking' } },
      { type: 'thinking_delta', index: 0, text: 'Let me ' },
      { type: 'thinking_delta', index: 0, text: 'think.' },
      { type: 'signature_delta', index: 0, signature: 'sig' },
      { type: 'block_stop', index: 0 },
      { type: 'block_start', index: 1, block: { type: 'text' } },
      { type: 'text_delta', index: 1, text: 'Yes.' },
      { type: 'block_stop', index: 1 },
      { type: 'message_delta', stopReason: 'end_turn', stopSequence: null, usage: null },
      { type: 'message_stop' },
    ]);
  });

  it.each([
    ['throttlingException', true],
    ['modelStreamErrorException', false],
    ['validationException', false],
  ])('when a %s event arrives, then it throws an UpstreamError upstream_stream_error', (name, retryable) => {
    const decoder = bedrockConverseUpstreamCodec.createStreamDecoder();
    decoder.push(ev('messageStart', { role: 'assistant' }));
    let thrown: unknown;
    try {
      decoder.push(ev(name, { message: 'Too many requests, please wait before trying again.' }));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UpstreamError);
    expect(thrown).toMatchObject({ code: 'upstream_stream_error', retryable });
    expect((thrown as Error).message).toContain('Too many requests');
  });

  it('when an event payload is not JSON, then it throws an UpstreamError upstream_stream_error', () => {
    const decoder = bedrockConverseUpstreamCodec.createStreamDecoder();
    expect(() => decoder.push({ event: 'contentBlockDelta', data: '{"delta":' })).toThrow(
      expect.objectContaining({ code: 'upstream_stream_error' }),
    );
  });
});
