import { readFileSync } from 'node:fs';
import { UpstreamError } from '@switchyard/core';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { CanonicalResponse, CanonicalStreamEvent } from '../../canonical/types.js';
import { openaiResponsesClientCodec } from './index.js';

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;

const ctx = { model: 'gpt-4.1', includeUsage: false, sse: true };
const events = fixture<CanonicalStreamEvent[]>('canonical-stream.events.json');

/** An official SDK client whose every request is answered with `body` (SSE when `sse`). */
function sdkAnswering(body: string, sse: boolean): OpenAI {
  return new OpenAI({
    apiKey: 'sk-test',
    baseURL: 'http://gateway.test/v1',
    maxRetries: 0,
    fetch: async () =>
      new Response(body, {
        status: 200,
        headers: { 'content-type': sse ? 'text/event-stream' : 'application/json' },
      }),
  });
}

function encode(list: CanonicalStreamEvent[]): string {
  const encoder = openaiResponsesClientCodec.createStreamEncoder(ctx);
  return list.map((e) => encoder.push(e)).join('');
}

const textOnly: CanonicalStreamEvent[] = [
  { type: 'message_start', id: 'msg_1', model: 'm', usage: null },
  { type: 'block_start', index: 0, block: { type: 'text' } },
  { type: 'text_delta', index: 0, text: 'Arr, ' },
  { type: 'text_delta', index: 0, text: 'they be optional.' },
  { type: 'block_stop', index: 0 },
  { type: 'message_delta', stopReason: 'end_turn', stopSequence: null, usage: null },
  { type: 'message_stop' },
];

describe('the official OpenAI SDK reading the gateway’s Responses output', () => {
  it('when responses.stream() reads the tool-call answer, then it accepts every event and the final response has all items', async () => {
    const stream = sdkAnswering(encode(events), true).responses.stream({
      model: 'gpt-4.1',
      input: 'Weather in SF?',
    });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.snapshot));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('Let me look that up.');
    expect(deltas).toEqual(['Let me', 'Let me look that up.']);
    expect(final.status).toBe('completed');
    expect(final.output.map((item) => item.type)).toEqual([
      'reasoning',
      'message',
      'function_call',
      'function_call',
    ]);
    expect(final.output[2]).toMatchObject({
      call_id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6',
      name: 'get_weather',
      arguments: '{"location": "San Francisco, CA"}',
    });
    expect(final.usage?.output_tokens_details.reasoning_tokens).toBe(12);
  });

  it('when a text-only answer is streamed, then output_text is the whole text', async () => {
    const stream = sdkAnswering(encode(textOnly), true).responses.stream({
      model: 'gpt-4.1',
      input: 'Semicolons?',
    });
    expect((await stream.finalResponse()).output_text).toBe('Arr, they be optional.');
  });

  it('when responses.create({stream: true}) is iterated, then the SDK yields the typed events in order', async () => {
    const stream = await sdkAnswering(encode(textOnly), true).responses.create({
      model: 'gpt-4.1',
      input: 'Semicolons?',
      stream: true,
    });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
  });

  it('when the answer stopped at the token limit, then the stream helper ends with an incomplete response', async () => {
    const cut = textOnly.map((e) =>
      e.type === 'message_delta' ? { ...e, stopReason: 'max_tokens' as const } : e,
    );
    const final = await sdkAnswering(encode(cut), true)
      .responses.stream({ model: 'gpt-4.1', input: 'x' })
      .finalResponse();
    expect([final.status, final.incomplete_details?.reason, final.output_text]).toEqual([
      'incomplete',
      'max_output_tokens',
      'Arr, they be optional.',
    ]);
  });

  it('when the stream ends with the gateway’s error event, then the SDK raises an APIError with its message', async () => {
    const encoder = openaiResponsesClientCodec.createStreamEncoder(ctx);
    const body =
      textOnly
        .slice(0, 3)
        .map((e) => encoder.push(e))
        .join('') + encoder.error(new UpstreamError('The upstream stream broke off.', { retryable: false }));
    const stream = sdkAnswering(body, true).responses.stream({ model: 'gpt-4.1', input: 'x' });
    await expect(stream.finalResponse()).rejects.toThrow('The upstream stream broke off.');
  });

  it('when a rendered Response is read by responses.create(), then the SDK computes output_text from it', async () => {
    const body = openaiResponsesClientCodec.renderResponse(
      fixture<CanonicalResponse>('canonical-response.json'),
      ctx,
    );
    const res = await sdkAnswering(JSON.stringify(body), false).responses.create({
      model: 'gpt-4.1',
      input: 'x',
    });
    expect(res.output_text).toBe('Let me look that up.');
    expect(res.output[0]).toMatchObject({
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: 'The user wants the weather.' }],
    });
  });
});
