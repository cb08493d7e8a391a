import { readFileSync } from 'node:fs';
import { InvalidRequestError, RateLimitedError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { CanonicalStreamEvent } from '../../canonical/types.js';
import { geminiClientCodec } from './index.js';

const read = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const STREAMS = ['stream', 'stream-function-call'];

function encode(events: CanonicalStreamEvent[], sse: boolean, model = 'gemini-2.5-flash'): string[] {
  const encoder = geminiClientCodec.createStreamEncoder({ model, includeUsage: false, sse });
  return events.map((e) => encoder.push(e));
}

const start: CanonicalStreamEvent = { type: 'message_start', id: 'r1', model: 'up', usage: null };
const text = (t: string): CanonicalStreamEvent => ({ type: 'text_delta', index: 0, text: t });

describe('canonical events → Gemini client stream', () => {
  it.each(STREAMS)(
    'when the %s events are encoded with alt=sse, then each chunk is one data event',
    (name) => {
      const events = JSON.parse(read(`${name}.events.json`)) as CanonicalStreamEvent[];
      const { chunks } = JSON.parse(read(`${name}.client.json`)) as { chunks: unknown[] };
      expect(encode(events, true).join('')).toBe(
        chunks.map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`).join(''),
      );
    },
  );

  it.each(STREAMS)(
    'when the %s events are encoded without alt=sse, then the chunks form one JSON array',
    (name) => {
      const events = JSON.parse(read(`${name}.events.json`)) as CanonicalStreamEvent[];
      const { chunks } = JSON.parse(read(`${name}.client.json`)) as { chunks: unknown[] };
      const out = encode(events, false).join('');
      expect(out).toBe(`[${chunks.map((c) => JSON.stringify(c)).join(',\r\n')}]`);
      expect(JSON.parse(out)).toEqual(chunks);
    },
  );

  it('when deltas arrive, then each is written at once and the array opens with the first chunk', () => {
    const out = encode(
      [start, { type: 'block_start', index: 0, block: { type: 'text' } }, text('A'), text('B'), text('')],
      false,
    );
    expect(out[0]).toBe('');
    expect(out[1]).toBe('');
    expect(out[2]!.startsWith('[{"candidates":[{"content":{"role":"model","parts":[{"text":"A"}]}')).toBe(
      true,
    );
    expect(out[3]!.startsWith(',\r\n{"candidates"')).toBe(true);
    expect(out[4]).toBe('');
  });

  it('when a tool call streams its arguments, then nothing is written until its block stops', () => {
    const out = encode(
      [
        start,
        { type: 'block_start', index: 0, block: { type: 'tool_call', id: 'toolu_1', name: 'run' } },
        { type: 'tool_args_delta', index: 0, json: '{"cmd":' },
        { type: 'tool_args_delta', index: 0, json: '"ls"}' },
        { type: 'block_stop', index: 0 },
      ],
      true,
    );
    expect(out.slice(0, 4)).toEqual(['', '', '', '']);
    const chunk = JSON.parse(out[4]!.slice('data: '.length)) as {
      candidates: Array<{ content: { parts: unknown[] } }>;
    };
    expect(chunk.candidates[0]!.content.parts).toEqual([
      { functionCall: { name: 'run', args: { cmd: 'ls' }, id: 'toolu_1' } },
    ]);
  });

  it('when a signature-only thinking block precedes text, then the signature goes on that text part', () => {
    const out = encode(
      [
        start,
        { type: 'block_start', index: 0, block: { type: 'thinking' } },
        { type: 'signature_delta', index: 0, signature: 'sig' },
        { type: 'block_stop', index: 0 },
        { type: 'block_start', index: 1, block: { type: 'text' } },
        { type: 'text_delta', index: 1, text: 'Hi' },
      ],
      true,
    );
    expect(out.slice(0, 4).join('')).toBe('');
    expect(out[5]).toContain('"parts":[{"text":"Hi","thoughtSignature":"sig"}]');
  });

  it('when an error follows chunks, then it is an error chunk in the client framing and the stream ends', () => {
    const err = new RateLimitedError('Slow down.');
    const body = '{"error":{"code":429,"message":"Slow down.","status":"RESOURCE_EXHAUSTED"}}';
    const sse = geminiClientCodec.createStreamEncoder({ model: 'm', includeUsage: false, sse: true });
    sse.push(start);
    sse.push(text('A'));
    expect(sse.error(err)).toBe(`data: ${body}\r\n\r\n`);
    expect(sse.push(text('B'))).toBe('');

    const array = geminiClientCodec.createStreamEncoder({ model: 'm', includeUsage: false, sse: false });
    const before = array.push(start) + array.push(text('A'));
    const all = before + array.error(err);
    expect(all.endsWith(`,\r\n${body}]`)).toBe(true);
    expect(JSON.parse(all)).toHaveLength(2);
  });

  it('when an error comes before any chunk in array mode, then the array holds just the error', () => {
    const array = geminiClientCodec.createStreamEncoder({ model: 'm', includeUsage: false, sse: false });
    const out = array.error(new InvalidRequestError("'x': bad."));
    expect(JSON.parse(out)).toEqual([
      { error: { code: 400, message: "'x': bad.", status: 'INVALID_ARGUMENT' } },
    ]);
  });

  it('when the stream ends normally in array mode, then message_stop closes the array', () => {
    const out = encode(
      [
        start,
        { type: 'message_delta', stopReason: 'end_turn', stopSequence: null, usage: null },
        { type: 'message_stop' },
      ],
      false,
    );
    expect(out[2]).toBe(']');
    expect(JSON.parse(out.join(''))).toEqual([
      {
        candidates: [{ content: { role: 'model', parts: [] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: 0, candidatesTokenCount: 0, totalTokenCount: 0 },
        modelVersion: 'gemini-2.5-flash',
        responseId: 'r1',
      },
    ]);
  });
});
