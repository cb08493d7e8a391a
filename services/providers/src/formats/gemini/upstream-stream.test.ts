import { readFileSync } from 'node:fs';
import { UpstreamError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { CanonicalStreamEvent } from '../../canonical/types.js';
import { SseParser } from '../../sse/sse-parser.js';
import { geminiUpstreamCodec } from './index.js';

const read = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const STREAMS = ['stream', 'stream-function-call'];

/** Decodes SSE text cut into pieces at `cuts` (byte offsets), as an upstream body would arrive. */
function decode(text: string, cuts: number[]): { events: CanonicalStreamEvent[]; complete: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  const parser = new SseParser();
  const decoder = geminiUpstreamCodec.createStreamDecoder();
  const events: CanonicalStreamEvent[] = [];
  const feed = (sse: ReturnType<SseParser['push']>): void => {
    for (const e of sse) events.push(...decoder.push({ event: e.event, data: e.data ?? '' }));
  };
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    feed(parser.push(bytes.subarray(at, cut)));
    at = cut;
  }
  feed(parser.end());
  events.push(...decoder.end());
  return { events, complete: decoder.complete };
}

/** A small deterministic PRNG (mulberry32), so that random cuts are the same on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function splits(length: number): number[][] {
  const even = [1, 2, 3, 7, 64, 500].map((step) =>
    Array.from({ length: Math.floor(length / step) }, (_, i) => (i + 1) * step),
  );
  const random = prng(42);
  const randomCuts = Array.from({ length: 20 }, () =>
    Array.from({ length: 8 }, () => Math.floor(random() * length)).sort((a, b) => a - b),
  );
  return [[], ...even, ...randomCuts];
}

const chunk = (o: unknown): string => `data: ${JSON.stringify(o)}\r\n\r\n`;

describe('Gemini upstream stream → canonical events', () => {
  it.each(STREAMS)(
    'when the %s SSE body arrives in any chunking, then the decoded events are the expected ones',
    (name) => {
      const text = read(`${name}.sse.txt`);
      const expected = JSON.parse(read(`${name}.events.json`)) as CanonicalStreamEvent[];
      for (const cuts of splits(Buffer.byteLength(text))) {
        expect(decode(text, cuts)).toEqual({ events: expected, complete: true });
      }
    },
  );

  it('when thought and text parts continue across chunks, then each extends its open block', () => {
    const text =
      chunk({ candidates: [{ content: { parts: [{ text: 'Hmm', thought: true }] } }], responseId: 'r' }) +
      chunk({
        candidates: [{ content: { parts: [{ text: ' more', thought: true, thoughtSignature: 's' }] } }],
      }) +
      chunk({ candidates: [{ content: { parts: [{ text: 'An' }] } }] }) +
      chunk({ candidates: [{ content: { parts: [{ text: 'swer' }] }, finishReason: 'MAX_TOKENS' }] });
    const { events } = decode(text, []);
    expect(events.slice(1)).toEqual([
      { type: 'block_start', index: 0, block: { type: 'thinking' } },
      { type: 'thinking_delta', index: 0, text: 'Hmm' },
      { type: 'thinking_delta', index: 0, text: ' more' },
      { type: 'signature_delta', index: 0, signature: 's' },
      { type: 'block_stop', index: 0 },
      { type: 'block_start', index: 1, block: { type: 'text' } },
      { type: 'text_delta', index: 1, text: 'An' },
      { type: 'text_delta', index: 1, text: 'swer' },
      { type: 'block_stop', index: 1 },
      { type: 'message_delta', stopReason: 'max_tokens', stopSequence: null, usage: null },
      { type: 'message_stop' },
    ]);
  });

  it('when the body ends before a finishReason, then no more events come and the stream is not complete', () => {
    const decoder = geminiUpstreamCodec.createStreamDecoder();
    const data = JSON.stringify({
      candidates: [{ content: { parts: [{ text: 'Once' }] } }],
      usageMetadata: { promptTokenCount: 4 },
    });
    expect(decoder.push({ event: null, data }).map((e) => e.type)).toEqual([
      'message_start',
      'block_start',
      'text_delta',
    ]);
    expect(decoder.end()).toEqual([]);
    expect(decoder.complete).toBe(false);
    expect(decoder.usage?.inputTokens).toBe(4);
  });

  it('when an error chunk arrives mid-stream, then it throws an UpstreamError upstream_stream_error', () => {
    const decoder = geminiUpstreamCodec.createStreamDecoder();
    decoder.push({
      event: null,
      data: JSON.stringify({ candidates: [{ content: { parts: [{ text: 'a' }] } }] }),
    });
    const data = JSON.stringify({
      error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' },
    });
    let thrown: unknown;
    try {
      decoder.push({ event: null, data });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UpstreamError);
    expect(thrown).toMatchObject({ code: 'upstream_stream_error', upstreamStatus: 503, retryable: true });
    expect((thrown as Error).message).toContain('The model is overloaded.');
  });

  it('when an event is not JSON, then it throws an UpstreamError upstream_stream_error', () => {
    const decoder = geminiUpstreamCodec.createStreamDecoder();
    expect(() => decoder.push({ event: null, data: '{"candidates":' })).toThrow(
      expect.objectContaining({ code: 'upstream_stream_error' }),
    );
  });

  it('when the prompt is blocked, then the stream ends with content_filter and no blocks', () => {
    const decoder = geminiUpstreamCodec.createStreamDecoder();
    const data = JSON.stringify({ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, responseId: 'r' });
    expect([...decoder.push({ event: null, data }), ...decoder.end()]).toEqual([
      { type: 'message_start', id: 'r', model: '', usage: null },
      { type: 'message_delta', stopReason: 'content_filter', stopSequence: null, usage: null },
      { type: 'message_stop' },
    ]);
    expect(decoder.complete).toBe(true);
  });
});
