import { readFileSync } from 'node:fs';
import { UpstreamError } from '@switchyard/core';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { CanonicalResponse, CanonicalStreamEvent } from '../../canonical/types.js';
import { openaiChatClientCodec } from './index.js';

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;

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

const ctx = { model: 'gpt-4.1', includeUsage: true, sse: true };
const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in SF?' }];

function encodedStream(events: CanonicalStreamEvent[]): string {
  const encoder = openaiChatClientCodec.createStreamEncoder(ctx);
  return events.map((e) => encoder.push(e)).join('');
}

describe('the official OpenAI SDK reading the gateway’s Chat Completions output', () => {
  it('when a streamed answer with two tool calls is accumulated by chat.completions.stream, then the final completion has both calls, the text and the usage', async () => {
    const client = sdkAnswering(encodedStream(fixture('canonical-stream.events.json')), true);
    const stream = client.chat.completions.stream({
      model: 'gpt-4.1',
      messages,
      stream_options: { include_usage: true },
    });
    const completion = await stream.finalChatCompletion();
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBe('Let me look that up.');
    expect(choice.message.tool_calls).toEqual([
      {
        id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"location": "San Francisco, CA"}' },
      },
      {
        id: 'toolu_01PmFtYGZQh6R3fLSm8cCJ1K',
        type: 'function',
        function: { name: 'get_time', arguments: '{"tz":"America/Los_Angeles"}' },
      },
    ]);
    expect(completion.usage?.total_tokens).toBe(561);
  });

  it('when runTools streams a tool-call turn and then an answer, then it runs both tools and ends with the answer', async () => {
    const answer: CanonicalStreamEvent[] = [
      { type: 'message_start', id: 'msg_2', model: 'm', usage: null },
      { type: 'block_start', index: 0, block: { type: 'text' } },
      { type: 'text_delta', index: 0, text: 'It is 18°C at 10:00.' },
      { type: 'block_stop', index: 0 },
      { type: 'message_delta', stopReason: 'end_turn', stopSequence: null, usage: null },
      { type: 'message_stop' },
    ];
    const bodies = [encodedStream(fixture('canonical-stream.events.json')), encodedStream(answer)];
    const sent: unknown[] = [];
    const client = new OpenAI({
      apiKey: 'sk-test',
      baseURL: 'http://gateway.test/v1',
      maxRetries: 0,
      fetch: async (_url, init) => {
        sent.push(JSON.parse(String(init?.body)));
        return new Response(bodies.shift(), { headers: { 'content-type': 'text/event-stream' } });
      },
    });
    const calls: unknown[] = [];
    const tool = (name: string, result: string) => ({
      type: 'function' as const,
      function: {
        name,
        description: name,
        parameters: { type: 'object', properties: {} },
        parse: (args: string): object => JSON.parse(args) as object,
        function: (args: object): string => {
          calls.push([name, args]);
          return result;
        },
      },
    });
    const runner = client.chat.completions.runTools({
      model: 'gpt-4.1',
      messages,
      stream: true,
      tools: [tool('get_weather', '18°C'), tool('get_time', '10:00')],
    });
    expect(await runner.finalContent()).toBe('It is 18°C at 10:00.');
    expect(calls).toEqual([
      ['get_weather', { location: 'San Francisco, CA' }],
      ['get_time', { tz: 'America/Los_Angeles' }],
    ]);
    expect((sent[1] as { messages: unknown[] }).messages.slice(-2)).toEqual([
      { role: 'tool', tool_call_id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', content: '18°C' },
      { role: 'tool', tool_call_id: 'toolu_01PmFtYGZQh6R3fLSm8cCJ1K', content: '10:00' },
    ]);
    // The SDK's own follow-up request parses into the canonical tool loop.
    const followUp = openaiChatClientCodec.parseRequest(sent[1] as Record<string, unknown>, {});
    expect(followUp.messages.map((m) => [m.role, m.content.map((p) => p.type)])).toEqual([
      ['user', ['text']],
      ['assistant', ['text', 'tool_call', 'tool_call']],
      ['user', ['tool_result', 'tool_result']],
    ]);
    expect(followUp.messages[2]!.content[1]).toMatchObject({
      name: 'get_time',
      content: [{ type: 'text', text: '10:00' }],
    });
  });

  it('when a streamed answer is iterated with create({stream: true}), then the SDK yields every chunk', async () => {
    const client = sdkAnswering(encodedStream(fixture('canonical-stream.events.json')), true);
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages, stream: true });
    let content = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      content += chunk.choices[0]?.delta.content ?? '';
    }
    expect(content).toBe('Let me look that up.');
    expect(chunks).toBe(12);
  });

  it('when a stream ends with the gateway’s error event, then the SDK raises an APIError with its message', async () => {
    const encoder = openaiChatClientCodec.createStreamEncoder(ctx);
    const events = fixture<CanonicalStreamEvent[]>('canonical-stream.events.json');
    const body =
      events
        .slice(0, 4)
        .map((e) => encoder.push(e))
        .join('') + encoder.error(new UpstreamError('The upstream stream broke off.', { retryable: false }));
    const stream = sdkAnswering(body, true).chat.completions.stream({ model: 'gpt-4.1', messages });
    await expect(stream.finalChatCompletion()).rejects.toThrow('The upstream stream broke off.');
  });

  it('when a rendered chat.completion is read by create(), then the SDK returns its message and usage', async () => {
    const body = openaiChatClientCodec.renderResponse(
      fixture<CanonicalResponse>('canonical-response.json'),
      ctx,
    );
    const completion = await sdkAnswering(JSON.stringify(body), false).chat.completions.create({
      model: 'gpt-4.1',
      messages,
    });
    expect(completion.choices[0]?.message.tool_calls?.[0]).toMatchObject({
      function: { name: 'get_weather' },
    });
    expect(completion.usage?.prompt_tokens_details?.cached_tokens).toBe(400);
  });
});
