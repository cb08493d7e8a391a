import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonPayloads, postJson, readSse } from '../test/http-helpers.js';
import { expectedCompletion } from './deterministic-completion.js';
import { anthropicUsage, openaiUsage } from './expected-wire-fields.js';
import { startMockUpstream } from './mock-upstream.js';
import type { MockUpstream } from './mock-upstream.js';

const PNG_BASE64 = Buffer.from('not really a png').toString('base64');
const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };

let mock: MockUpstream;

beforeEach(async () => {
  mock = await startMockUpstream();
});

afterEach(async () => {
  await mock.close();
});

type Choice = { delta: Record<string, unknown>; finish_reason: string | null };
const choicesOf = (chunks: Record<string, unknown>[]): Choice[] =>
  chunks.flatMap((c) => (c.choices as Choice[] | undefined) ?? []);

describe('OpenAI Chat Completions: reasoning, images, cached tokens, streamed tool arguments', () => {
  const reasoningBody = {
    model: 'o4-mini',
    reasoning_effort: 'medium',
    messages: [{ role: 'user', content: 'why?' }],
  };

  it('when reasoning_effort is set, then the message has reasoning_content and the usage counts reasoning tokens', async () => {
    const res = await postJson(`${mock.url}/v1/chat/completions`, reasoningBody);
    const json = (await res.json()) as { choices: { message: Record<string, unknown> }[]; usage: unknown };
    const exp = expectedCompletion(reasoningBody);
    expect(json.choices[0]?.message).toEqual({
      role: 'assistant',
      content: 'Echo: why?',
      reasoning_content: 'Thinking about: why?',
      refusal: null,
    });
    expect(json.usage).toEqual(openaiUsage(exp));
    expect(json.usage).toMatchObject({
      completion_tokens_details: { reasoning_tokens: exp.reasoningTokens },
    });
  });

  it('when streaming with reasoning, then reasoning_content deltas come before the content deltas', async () => {
    const body = { ...reasoningBody, stream: true, stream_options: { include_usage: true } };
    const chunks = jsonPayloads(
      (await readSse(await postJson(`${mock.url}/v1/chat/completions`, body))).messages,
    );
    const deltas = choicesOf(chunks).map((c) => c.delta);
    const exp = expectedCompletion(body);
    const reasoning = deltas.filter((d) => 'reasoning_content' in d).map((d) => d.reasoning_content);
    const content = deltas
      .filter((d) => typeof d.content === 'string' && d.content !== '')
      .map((d) => d.content);
    expect(reasoning).toEqual(exp.reasoning?.chunks);
    expect(content).toEqual(exp.chunks);
    expect(deltas.findIndex((d) => 'reasoning_content' in d)).toBeLessThan(
      deltas.findIndex((d) => d.content === exp.chunks[0]),
    );
    expect(chunks.at(-1)?.usage).toEqual(openaiUsage(exp));
  });

  it('when the tool has properties, then the call carries the user text and streams its arguments in pieces', async () => {
    const tools = [{ type: 'function', function: { name: 'weather', parameters: schema } }];
    const body = {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'call tool for Paris' }],
      tools,
      stream: true,
    };
    const chunks = jsonPayloads(
      (await readSse(await postJson(`${mock.url}/v1/chat/completions`, body))).messages,
    );
    type Delta = { tool_calls?: { function: { arguments: string } }[] };
    const pieces = choicesOf(chunks)
      .map((c) => (c.delta as Delta).tool_calls?.[0]?.function.arguments)
      .filter((a): a is string => a !== undefined && a !== '');
    expect(pieces.length).toBeGreaterThanOrEqual(2);
    expect(pieces.join('')).toBe('{"city":"call tool for Paris"}');
    expect(pieces).toEqual(expectedCompletion(body).toolArgumentChunks);

    const client = new OpenAI({ apiKey: 'sk', baseURL: `${mock.url}/v1`, maxRetries: 0 });
    const done = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'call tool for Paris' }],
      tools: [{ type: 'function', function: { name: 'weather', parameters: schema } }],
    });
    const call = done.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' ? JSON.parse(call.function.arguments) : null).toEqual({
      city: 'call tool for Paris',
    });
  });

  it('when the user message has a data-URL image, then the echo names its type and size', async () => {
    const body = {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}` } },
          ],
        },
      ],
    };
    const json = (await (await postJson(`${mock.url}/v1/chat/completions`, body)).json()) as {
      choices: { message: { content: string } }[];
    };
    expect(json.choices[0]?.message.content).toBe('Echo: what is this [image: image/png, 16]');
  });

  it('when cached tokens are asked by option or header, then prompt_tokens_details reports them', async () => {
    const body = { messages: [{ role: 'user', content: 'a long enough prompt to cache' }] };
    const exp = expectedCompletion(body);
    const viaHeader = await postJson(`${mock.url}/v1/chat/completions`, body, {
      'x-mock-cached-tokens': '4',
    });
    expect(((await viaHeader.json()) as { usage: unknown }).usage).toEqual(openaiUsage(exp, 4));
    mock.cachedTokens = 6;
    const viaOption = await postJson(`${mock.url}/v1/chat/completions`, body);
    expect(((await viaOption.json()) as { usage: unknown }).usage).toMatchObject({
      prompt_tokens: exp.promptTokens,
      prompt_tokens_details: { cached_tokens: 6 },
    });
  });
});

describe('Anthropic Messages: thinking, streamed tool input, images, cache usage', () => {
  const thinkingBody: Anthropic.MessageCreateParamsNonStreaming = {
    model: 'claude-sonnet-4-5',
    max_tokens: 2048,
    thinking: { type: 'enabled', budget_tokens: 1024 },
    messages: [{ role: 'user', content: 'ponder this' }],
  };

  it('when thinking is enabled, then a signed thinking block precedes the text', async () => {
    const json = (await (await postJson(`${mock.url}/v1/messages`, thinkingBody)).json()) as Record<
      string,
      unknown
    >;
    const exp = expectedCompletion(thinkingBody);
    expect(json.content).toEqual([
      { type: 'thinking', thinking: 'Thinking about: ponder this', signature: exp.reasoning?.signature },
      { type: 'text', text: 'Echo: ponder this' },
    ]);
    expect(json.usage).toEqual(anthropicUsage(exp));
  });

  it('when thinking streams, then thinking_delta pieces and one signature_delta close block 0 before the text block 1', async () => {
    const res = await postJson(`${mock.url}/v1/messages`, { ...thinkingBody, stream: true, mock_chunks: 2 });
    const events = (await readSse(res)).messages.map((e) => JSON.parse(e.data) as Record<string, unknown>);
    const exp = expectedCompletion({ ...thinkingBody, mock_chunks: 2 });
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[1]).toEqual({
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'thinking', thinking: '', signature: '' },
    });
    expect(events.slice(3, 6).map((e) => e.delta)).toEqual([
      { type: 'thinking_delta', thinking: exp.reasoning?.chunks[0] },
      { type: 'thinking_delta', thinking: exp.reasoning?.chunks[1] },
      { type: 'signature_delta', signature: exp.reasoning?.signature },
    ]);
    expect(events[7]).toMatchObject({ index: 1, content_block: { type: 'text' } });
    expect(events[11]).toMatchObject({ usage: { output_tokens: exp.completionTokens } });

    const client = new Anthropic({ apiKey: 'sk-ant', baseURL: mock.url, maxRetries: 0 });
    const final = await client.messages.stream(thinkingBody).finalMessage();
    expect(final.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    expect(final.content[0]?.type === 'thinking' ? final.content[0].signature : '').toBe(
      exp.reasoning?.signature,
    );
  });

  it('when a tool with properties is called, then input is an object and streams as input_json_delta pieces', async () => {
    const body: Anthropic.MessageCreateParamsNonStreaming = {
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      tools: [
        { name: 'weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
      ],
      messages: [{ role: 'user', content: 'call tool: Oslo' }],
    };
    const json = (await (await postJson(`${mock.url}/v1/messages`, body)).json()) as { content: unknown[] };
    expect(json.content).toEqual([
      {
        type: 'tool_use',
        id: expect.stringMatching(/^toolu_mock_/),
        name: 'weather',
        input: { city: 'call tool: Oslo' },
      },
    ]);
    const client = new Anthropic({ apiKey: 'sk-ant', baseURL: mock.url, maxRetries: 0 });
    const stream = client.messages.stream(body);
    const partials: string[] = [];
    stream.on('inputJson', (partial) => partials.push(partial));
    const final = await stream.finalMessage();
    expect(partials.length).toBeGreaterThanOrEqual(2);
    expect(final.content[0]?.type === 'tool_use' ? final.content[0].input : null).toEqual({
      city: 'call tool: Oslo',
    });
  });

  it('when the user sends base64 and URL images, then the echo describes both', async () => {
    const body = {
      max_tokens: 100,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: PNG_BASE64 } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
            { type: 'text', text: 'compare' },
          ],
        },
      ],
    };
    const json = (await (await postJson(`${mock.url}/v1/messages`, body)).json()) as {
      content: { text: string }[];
    };
    expect(json.content[0]?.text).toBe('Echo: compare [image: image/jpeg, 16] [image: url, url]');
  });

  it('when tokens are cached, then input_tokens excludes them and cache_read_input_tokens reports them, streamed too', async () => {
    const body = { max_tokens: 100, messages: [{ role: 'user', content: 'cache me please' }] };
    const exp = expectedCompletion(body);
    const json = (await (
      await postJson(`${mock.url}/v1/messages`, body, { 'x-mock-cached-tokens': '5' })
    ).json()) as {
      usage: unknown;
    };
    expect(json.usage).toEqual({
      input_tokens: exp.promptTokens - 5,
      output_tokens: exp.completionTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 5,
    });
    const streamed = await readSse(
      await postJson(`${mock.url}/v1/messages`, { ...body, stream: true }, { 'x-mock-cached-tokens': '5' }),
    );
    const start = JSON.parse(streamed.messages[0]?.data ?? '{}') as { message: { usage: unknown } };
    expect(start.message.usage).toEqual({ ...anthropicUsage(exp, 5), output_tokens: 1 });
  });
});
