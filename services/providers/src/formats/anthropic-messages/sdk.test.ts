import { readFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import { RateLimitedError, UpstreamError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { RenderContext } from '../../canonical/codec.js';
import type { CanonicalResponse, CanonicalStreamEvent } from '../../canonical/types.js';
import { SseParser } from '../../sse/sse-parser.js';
import { anthropicClientCodec, anthropicUpstreamCodec } from './index.js';

const read = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const ctx: RenderContext = { model: 'claude-sonnet-4-5', includeUsage: false, sse: true };
const params = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  messages: [{ role: 'user' as const, content: 'Hi' }],
};

/** An SDK client whose every request is answered with `body`. */
function sdkAnswering(body: string, contentType: string, status = 200): Anthropic {
  return new Anthropic({
    apiKey: 'x',
    maxRetries: 0,
    fetch: async () => new Response(body, { status, headers: { 'content-type': contentType } }),
  });
}

function encode(events: CanonicalStreamEvent[], tail = ''): string {
  const encoder = anthropicClientCodec.createStreamEncoder(ctx);
  return events.map((e) => encoder.push(e)).join('') + tail;
}

const usage = {
  inputTokens: 120,
  outputTokens: 60,
  cachedInputTokens: 100,
  cacheCreationInputTokens: 0,
  reasoningTokens: 0,
};
const mixed: CanonicalStreamEvent[] = [
  { type: 'message_start', id: 'chatcmpl-abc', model: 'gpt-4o', usage: null },
  { type: 'block_start', index: 0, block: { type: 'thinking' } },
  { type: 'thinking_delta', index: 0, text: 'The user wants ' },
  { type: 'thinking_delta', index: 0, text: 'the weather.' },
  { type: 'signature_delta', index: 0, signature: 'EqQBsig' },
  { type: 'block_stop', index: 0 },
  { type: 'block_start', index: 1, block: { type: 'text' } },
  { type: 'text_delta', index: 1, text: 'Checking ' },
  { type: 'text_delta', index: 1, text: 'Paris.' },
  { type: 'block_stop', index: 1 },
  { type: 'block_start', index: 2, block: { type: 'tool_call', id: 'toolu_9', name: 'get_weather' } },
  { type: 'tool_args_delta', index: 2, json: '{"location": "Pa' },
  { type: 'tool_args_delta', index: 2, json: 'ris", "days": [1, 2]}' },
  { type: 'block_stop', index: 2 },
  { type: 'message_delta', stopReason: 'tool_use', stopSequence: null, usage },
  { type: 'message_stop' },
];

describe('the official Anthropic SDK reads what the gateway writes', () => {
  it('when the SDK streams the encoder output, then finalMessage has the thinking, text and tool_use input object', async () => {
    const client = sdkAnswering(encode(mixed), 'text/event-stream');
    const msg = await client.messages.stream(params).finalMessage();
    expect(msg.id).toBe('msg_chatcmpl-abc');
    expect(msg.model).toBe('claude-sonnet-4-5');
    expect(msg.content).toEqual([
      { type: 'thinking', thinking: 'The user wants the weather.', signature: 'EqQBsig' },
      { type: 'text', text: 'Checking Paris.' },
      { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { location: 'Paris', days: [1, 2] } },
    ]);
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.usage).toMatchObject({ input_tokens: 20, cache_read_input_tokens: 100, output_tokens: 60 });
  });

  it('when an upstream Anthropic stream is decoded and re-encoded for the SDK, then the SDK sees the documented answer', async () => {
    const parser = new SseParser();
    const decoder = anthropicUpstreamCodec.createStreamDecoder();
    const encoder = anthropicClientCodec.createStreamEncoder(ctx);
    let out = '';
    const framed = [...parser.push(Buffer.from(read('tool-use.upstream-stream.sse'))), ...parser.end()];
    for (const f of framed)
      for (const e of decoder.push({ event: f.event, data: f.data ?? '' })) out += encoder.push(e);
    const msg = await sdkAnswering(out, 'text/event-stream').messages.stream(params).finalMessage();
    expect(msg.content).toEqual([
      { type: 'text', text: "Okay, let's check the weather for San Francisco, CA:" },
      {
        type: 'tool_use',
        id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6',
        name: 'get_weather',
        input: { location: 'San Francisco, CA', unit: 'fahrenheit' },
      },
    ]);
    expect(msg.usage).toMatchObject({ input_tokens: 472, cache_read_input_tokens: 2048, output_tokens: 89 });
  });

  it('when the stream ends with the encoder error event, then the SDK rejects with that error type', async () => {
    const text = encode(
      mixed.slice(0, 3),
      anthropicClientCodec
        .createStreamEncoder(ctx)
        .error(new UpstreamError('upstream died', { retryable: false })),
    );
    const err: unknown = await sdkAnswering(text, 'text/event-stream')
      .messages.stream(params)
      .finalMessage()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'upstream died' },
    });
  });

  it('when the SDK reads a rendered non-stream answer, then it parses the content and usage', async () => {
    const res: CanonicalResponse = {
      id: 'msg_1',
      model: 'x',
      created: 0,
      content: [
        { type: 'thinking', text: 'hmm', signature: null },
        { type: 'text', text: 'Hello' },
        { type: 'tool_call', id: 'toolu_1', name: 'f', arguments: '{"a":1}' },
      ],
      stopReason: 'tool_use',
      stopSequence: null,
      usage,
    };
    const body = JSON.stringify(anthropicClientCodec.renderResponse(res, ctx));
    const msg = await sdkAnswering(body, 'application/json').messages.create(params);
    expect(msg.content).toEqual([
      { type: 'thinking', thinking: 'hmm', signature: '' },
      { type: 'text', text: 'Hello' },
      { type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: 1 } },
    ]);
    expect(msg.usage.input_tokens).toBe(20);
    expect(msg.stop_reason).toBe('tool_use');
  });

  it('when the SDK reads a rendered error, then it raises the matching typed error', async () => {
    const { status, body } = anthropicClientCodec.renderError(new RateLimitedError('Too many requests'));
    const err: unknown = await sdkAnswering(JSON.stringify(body), 'application/json', status)
      .messages.create(params)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as InstanceType<typeof Anthropic.RateLimitError>).error).toEqual(body);
  });
});
