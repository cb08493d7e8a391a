import { AzureOpenAI } from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonPayloads, postJson, readSse } from '../test/http-helpers.js';
import { expectedCompletion } from './deterministic-completion.js';
import { expectedEmbedding } from './deterministic-embedding.js';
import { openaiUsage } from './expected-wire-fields.js';
import { startMockUpstream } from './mock-upstream.js';
import type { MockUpstream } from './mock-upstream.js';

const messages = [{ role: 'user', content: 'hello azure' }];
const API_VERSION = '2024-10-21';

let mock: MockUpstream;

beforeEach(async () => {
  mock = await startMockUpstream({ requireKey: 'az-key' });
});

afterEach(async () => {
  await mock.close();
});

const deploymentUrl = (op: string, query = `?api-version=${API_VERSION}`): string =>
  `${mock.url}/openai/deployments/my-gpt4o/${op}${query}`;

describe('Azure OpenAI deployments route', () => {
  it('when called with api-version and the api-key, then the answer names the deployment and carries filter results', async () => {
    const res = await postJson(deploymentUrl('chat/completions'), { messages }, { 'api-key': 'az-key' });
    expect(res.status).toBe(200);
    const json = (await res.json()) as Record<string, unknown>;
    expect(json).toMatchObject({
      object: 'chat.completion',
      model: 'my-gpt4o',
      choices: [
        {
          message: { role: 'assistant', content: 'Echo: hello azure' },
          finish_reason: 'stop',
          content_filter_results: { hate: { filtered: false, severity: 'safe' } },
        },
      ],
      prompt_filter_results: [{ prompt_index: 0 }],
      usage: openaiUsage(expectedCompletion({ messages })),
    });
    expect(mock.requests[0]?.query).toEqual({ 'api-version': API_VERSION });
  });

  it('when streaming, then a choices-less filter chunk opens the stream and the content follows', async () => {
    const body = { messages, stream: true, stream_options: { include_usage: true } };
    const { messages: events } = await readSse(
      await postJson(deploymentUrl('chat/completions'), body, { 'api-key': 'az-key' }),
    );
    const chunks = jsonPayloads(events);
    expect(chunks[0]).toMatchObject({ choices: [], prompt_filter_results: [{ prompt_index: 0 }] });
    const text = chunks
      .slice(1)
      .map((c) => (c.choices as { delta: { content?: string } }[])[0]?.delta.content ?? '')
      .join('');
    expect(text).toBe(expectedCompletion(body).content);
    expect(chunks.slice(1).every((c) => c.model === 'my-gpt4o')).toBe(true);
    expect(events.at(-1)?.data).toBe('[DONE]');
  });

  it('when the official AzureOpenAI client calls chat and embeddings, then it reads the answers', async () => {
    const client = new AzureOpenAI({
      endpoint: mock.url,
      apiKey: 'az-key',
      apiVersion: API_VERSION,
      deployment: 'my-gpt4o',
      maxRetries: 0,
    });
    const done = await client.chat.completions.create({
      model: 'ignored',
      messages: [{ role: 'user', content: 'hello azure' }],
    });
    expect(done.choices[0]?.message.content).toBe('Echo: hello azure');
    expect(mock.requests[0]?.path).toBe('/openai/deployments/my-gpt4o/chat/completions');
    expect(mock.requests[0]?.headers['api-key']).toBe('az-key');
    const embedded = await client.embeddings.create({
      model: 'ignored',
      input: 'hi',
      encoding_format: 'float',
    });
    expect(embedded.data[0]?.embedding).toEqual(expectedEmbedding('hi'));
    expect(embedded.model).toBe('my-gpt4o');
  });

  it('when api-version is missing, then the answer is a 400 in Azure shape', async () => {
    const res = await postJson(deploymentUrl('chat/completions', ''), { messages }, { 'api-key': 'az-key' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { code: 'MissingApiVersionParameter', message: expect.stringContaining('api-version') },
    });
  });

  it('when the api-key is wrong or only a bearer token is sent, then the answer is a 401 in OpenAI shape', async () => {
    const attempts: Record<string, string>[] = [{ 'api-key': 'nope' }, { authorization: 'Bearer az-key' }];
    for (const headers of attempts) {
      const res = await postJson(deploymentUrl('chat/completions'), { messages }, headers);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: {
          message: expect.stringContaining('Access denied'),
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      });
    }
  });
});

describe('Azure OpenAI answers with the deterministic extras', () => {
  it('when reasoning, an image and cached tokens come, then the deployment answer carries them', async () => {
    const body = {
      reasoning_effort: 'low',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look' },
            { type: 'image_url', image_url: { url: 'https://example.com/x.png' } },
          ],
        },
      ],
    };
    const res = await postJson(deploymentUrl('chat/completions'), body, {
      'api-key': 'az-key',
      'x-mock-cached-tokens': '2',
    });
    const exp = expectedCompletion(body);
    expect(await res.json()).toMatchObject({
      choices: [
        { message: { content: 'Echo: look [image: url, url]', reasoning_content: 'Thinking about: look' } },
      ],
      usage: openaiUsage(exp, 2),
    });
  });

  it('when a tool call streams, then its arguments arrive in at least two pieces', async () => {
    const body = {
      stream: true,
      messages: [{ role: 'user', content: 'call tool: weather' }],
      tools: [
        {
          type: 'function',
          function: { name: 'w', parameters: { type: 'object', properties: { q: { type: 'string' } } } },
        },
      ],
    };
    const { messages: events } = await readSse(
      await postJson(deploymentUrl('chat/completions'), body, { 'api-key': 'az-key' }),
    );
    type Delta = { tool_calls?: { function: { arguments?: string } }[] };
    const pieces = jsonPayloads(events)
      .flatMap((c) =>
        (c.choices as { delta: Delta }[]).map((ch) => ch.delta.tool_calls?.[0]?.function.arguments ?? ''),
      )
      .filter((a) => a !== '');
    expect(pieces.length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(pieces.join(''))).toEqual({ q: 'call tool: weather' });
  });
});

describe('Azure OpenAI v1 route', () => {
  it('when /openai/v1/chat/completions is called without api-version, then the body model answers', async () => {
    const res = await postJson(
      `${mock.url}/openai/v1/chat/completions`,
      { model: 'dep-v1', messages },
      { 'api-key': 'az-key' },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      model: 'dep-v1',
      choices: [{ message: { content: 'Echo: hello azure' } }],
    });
    const embeddings = await postJson(
      `${mock.url}/openai/v1/embeddings`,
      { model: 'emb', input: 'x' },
      { 'api-key': 'az-key' },
    );
    expect(await embeddings.json()).toMatchObject({
      model: 'emb',
      data: [{ embedding: expectedEmbedding('x') }],
    });
  });
});
