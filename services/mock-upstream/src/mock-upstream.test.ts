import { Agent, request } from 'node:http';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonPayloads, parseSse, postJson, readSse } from '../test/http-helpers.js';
import { expectedCompletion } from './deterministic-completion.js';
import { expectedEmbedding } from './deterministic-embedding.js';
import { MockUpstream, startMockUpstream } from './mock-upstream.js';

const messages: OpenAI.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'hello world' },
];

let mock: MockUpstream;

beforeEach(async () => {
  mock = await startMockUpstream();
});

afterEach(async () => {
  await mock.close();
});

describe('lifecycle', () => {
  it('listens on a free port, reports its URL, records requests and waits for them', async () => {
    expect(mock.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const waited = mock.waitForRequests(2);
    await fetch(`${mock.url}/v1/models`, { headers: { authorization: 'Bearer sk-one' } });
    await postJson(`${mock.url}/v1/messages?beta=true`, { messages }, { 'x-api-key': 'sk-two' });
    await waited;
    expect(mock.requests.map((r) => [r.method, r.path])).toEqual([
      ['GET', '/v1/models'],
      ['POST', '/v1/messages'],
    ]);
    expect(mock.requests[0]?.headers.authorization).toBe('Bearer sk-one');
    expect(mock.requests[0]?.body).toBeNull();
    expect(mock.requests[1]?.headers['x-api-key']).toBe('sk-two');
    expect(mock.requests[1]?.body).toEqual({ messages });
    expect(mock.requests.every((r) => !r.aborted && r.receivedAt > 0)).toBe(true);
  });

  it('throws for url before listen and serves control routes without recording them', async () => {
    expect(() => new MockUpstream().url).toThrow(/not listening/);
    await postJson(`${mock.url}/v1/chat/completions`, { messages });
    const listed = await fetch(`${mock.url}/_mock/requests`);
    const { requests } = (await listed.json()) as { requests: { path: string }[] };
    expect(requests.map((r) => r.path)).toEqual(['/v1/chat/completions']);

    const set = await postJson(`${mock.url}/_mock/faults`, { status: 503 });
    expect(set.status).toBe(200);
    expect(mock.currentFaults).toEqual({ status: 503 });
    expect((await postJson(`${mock.url}/v1/chat/completions`, { messages })).status).toBe(503);

    expect((await postJson(`${mock.url}/_mock/faults`, { status: 'soon' })).status).toBe(400);
    expect((await postJson(`${mock.url}/_mock/reset`, {})).status).toBe(200);
    expect(mock.requests).toHaveLength(0);
    expect(mock.currentFaults).toBeNull();
    expect((await postJson(`${mock.url}/v1/chat/completions`, { messages })).status).toBe(200);
  });

  it('keeps connections alive between requests', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (): Promise<boolean> =>
      new Promise((resolve, reject) => {
        const req = request(`${mock.url}/v1/models`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(req.reusedSocket));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await get()).toBe(false);
      expect(await get()).toBe(true);
      expect(await get()).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it('names itself in the x-mock-upstream header when given a name', async () => {
    const named = await startMockUpstream({ name: 'primary' });
    try {
      const res = await fetch(`${named.url}/v1/models`);
      expect(res.headers.get('x-mock-upstream')).toBe('primary');
      expect((await fetch(`${mock.url}/v1/models`)).headers.get('x-mock-upstream')).toBeNull();
    } finally {
      await named.close();
    }
  });
});

describe('POST /v1/chat/completions', () => {
  it('answers with the exact OpenAI shape and deterministic usage', async () => {
    const res = await postJson(`${mock.url}/v1/chat/completions`, { model: 'gpt-4o', messages });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const exp = expectedCompletion({ messages });
    expect(exp.content).toBe('Echo: hello world');
    expect(await res.json()).toEqual({
      id: expect.stringMatching(/^chatcmpl-mock-\d+$/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'gpt-4o',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Echo: hello world', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: Math.ceil(25 / 4) + 6,
        completion_tokens: 5,
        total_tokens: Math.ceil(25 / 4) + 6 + 5,
      },
      system_fingerprint: 'fp_mock',
    });
    expect(exp.promptTokens).toBe(Math.ceil(25 / 4) + 6);
  });

  it('streams OpenAI chunks without usage unless include_usage is set, ending with [DONE]', async () => {
    const res = await postJson(`${mock.url}/v1/chat/completions`, {
      model: 'gpt-4o',
      messages,
      stream: true,
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const { messages: events, error } = await readSse(res);
    expect(error).toBeUndefined();
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = jsonPayloads(events);
    const exp = expectedCompletion({ messages });
    expect(chunks).toHaveLength(1 + exp.chunks.length + 1);
    for (const c of chunks) {
      expect(c).toMatchObject({ object: 'chat.completion.chunk', model: 'gpt-4o', id: chunks[0]?.id });
      expect(c).not.toHaveProperty('usage');
    }
    expect(chunks[0]?.choices).toEqual([
      { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
    ]);
    const deltas = chunks
      .slice(1, -1)
      .map((c) => (c.choices as { delta: { content: string } }[])[0]?.delta.content);
    expect(deltas).toEqual(exp.chunks);
    expect(chunks.at(-1)?.choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
  });

  it('with include_usage, sends usage: null on every chunk and a final usage chunk with no choices', async () => {
    const body = {
      model: 'gpt-4o',
      messages,
      stream: true,
      stream_options: { include_usage: true },
      mock_chunks: 3,
    };
    const { messages: events } = await readSse(await postJson(`${mock.url}/v1/chat/completions`, body));
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = jsonPayloads(events);
    const exp = expectedCompletion(body);
    expect(exp.chunks).toHaveLength(3);
    expect(chunks).toHaveLength(1 + 3 + 1 + 1);
    for (const c of chunks.slice(0, -1)) expect(c.usage).toBeNull();
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: {
        prompt_tokens: exp.promptTokens,
        completion_tokens: 3,
        total_tokens: exp.promptTokens + 3,
      },
    });
  });

  it('answers "call tool" with a tool call, streamed with OpenAI tool_call deltas', async () => {
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }];
    const ask = [{ role: 'user', content: 'please call tool' }];
    const plain = await postJson(`${mock.url}/v1/chat/completions`, {
      model: 'gpt-4o',
      messages: ask,
      tools,
    });
    const json = (await plain.json()) as { choices: { message: unknown; finish_reason: string }[] };
    expect(json.choices[0]?.finish_reason).toBe('tool_calls');
    expect(json.choices[0]?.message).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        {
          id: expect.stringMatching(/^call_mock_/),
          type: 'function',
          function: { name: 'lookup', arguments: '{}' },
        },
      ],
      refusal: null,
    });

    const streamed = await postJson(`${mock.url}/v1/chat/completions`, {
      messages: ask,
      tools,
      stream: true,
    });
    const chunks = jsonPayloads((await readSse(streamed)).messages);
    const choices = chunks.map(
      (c) => (c.choices as { delta: Record<string, unknown>; finish_reason: unknown }[])[0],
    );
    expect(choices[0]?.delta).toMatchObject({
      role: 'assistant',
      tool_calls: [{ index: 0, type: 'function', function: { name: 'lookup', arguments: '' } }],
    });
    expect(choices[1]?.delta).toEqual({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] });
    expect(choices.at(-1)?.finish_reason).toBe('tool_calls');
  });

  it('is understood by the official OpenAI SDK, streamed and not', async () => {
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${mock.url}/v1`, maxRetries: 0 });
    const exp = expectedCompletion({ messages });
    const done = await client.chat.completions.create({ model: 'gpt-4o', messages });
    expect(done.choices[0]?.message.content).toBe(exp.content);
    expect(done.usage?.completion_tokens).toBe(exp.completionTokens);

    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let total = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      total = chunk.usage?.total_tokens ?? total;
    }
    expect(text).toBe(exp.content);
    expect(total).toBe(exp.promptTokens + exp.completionTokens);
    expect(mock.requests[0]?.headers.authorization).toBe('Bearer sk-test');
  });

  it('rejects a body without messages and malformed JSON with OpenAI-shaped 400s', async () => {
    const missing = await postJson(`${mock.url}/v1/chat/completions`, { model: 'gpt-4o' });
    expect(missing.status).toBe(400);
    const malformed = await postJson(`${mock.url}/v1/chat/completions`, '{"model":');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', code: null },
    });
    expect(mock.requests[1]?.body).toBeNull();
  });
});

describe('other OpenAI routes', () => {
  it('lists the fixed models and retrieves one', async () => {
    const list = (await (await fetch(`${mock.url}/v1/models`)).json()) as { object: string; data: unknown[] };
    expect(list.object).toBe('list');
    expect(list.data).toEqual(
      ['gpt-4o', 'gpt-4o-mini', 'text-embedding-3-small', 'claude-sonnet-4-5'].map((id) => ({
        id,
        object: 'model',
        created: expect.any(Number),
        owned_by: 'mock',
      })),
    );
    expect(((await (await fetch(`${mock.url}/v1/models/gpt-4o`)).json()) as { id: string }).id).toBe(
      'gpt-4o',
    );
    expect((await fetch(`${mock.url}/v1/models/nope`)).status).toBe(404);
  });

  it('returns deterministic embeddings as floats or base64', async () => {
    const res = await postJson(`${mock.url}/v1/embeddings`, {
      model: 'text-embedding-3-small',
      input: ['hello', 'world!!!!'],
    });
    expect(await res.json()).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: expectedEmbedding('hello') },
        { object: 'embedding', index: 1, embedding: expectedEmbedding('world!!!!') },
      ],
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 2 + 3, total_tokens: 5 },
    });

    const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${mock.url}/v1`, maxRetries: 0 });
    const viaSdk = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
    expect((mock.requests.at(-1)?.body as { encoding_format?: string }).encoding_format).toBe('base64');
    const expected = expectedEmbedding('hello');
    viaSdk.data[0]?.embedding.forEach((v, i) => expect(v).toBeCloseTo(expected[i] ?? NaN, 5));
    expect(viaSdk.data[0]?.embedding).toHaveLength(8);

    expect((await postJson(`${mock.url}/v1/embeddings`, { input: [] })).status).toBe(400);
  });

  it('answers unknown routes with an OpenAI-shaped 404', async () => {
    const res = await fetch(`${mock.url}/v2/whatever`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toContain('/v2/whatever');
  });
});

describe('POST /v1/messages', () => {
  const anthropicBody = {
    model: 'claude-sonnet-4-5',
    max_tokens: 100,
    system: 'You are terse.',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'hello world' }] }],
  };

  it('answers with the Anthropic message shape and the same deterministic usage', async () => {
    const res = await postJson(`${mock.url}/v1/messages`, anthropicBody);
    const exp = expectedCompletion(anthropicBody);
    // the Anthropic translation of the OpenAI request counts the same
    expect(exp.promptTokens).toBe(expectedCompletion({ messages }).promptTokens);
    expect(await res.json()).toEqual({
      id: expect.stringMatching(/^msg_mock_\d+$/),
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text: 'Echo: hello world' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: exp.promptTokens, output_tokens: exp.completionTokens },
    });
  });

  it('streams the Anthropic event sequence', async () => {
    const res = await postJson(`${mock.url}/v1/messages`, { ...anthropicBody, stream: true, mock_chunks: 4 });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const { messages: events, error } = await readSse(res);
    expect(error).toBeUndefined();
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const payloads = events.map((e) => JSON.parse(e.data) as Record<string, unknown>);
    payloads.forEach((p, i) => expect(p.type).toBe(events[i]?.event));
    const exp = expectedCompletion({ ...anthropicBody, mock_chunks: 4 });
    expect(payloads[0]).toMatchObject({
      message: {
        content: [],
        stop_reason: null,
        usage: { input_tokens: exp.promptTokens, output_tokens: 1 },
      },
    });
    expect(payloads[1]).toEqual({
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    });
    const texts = payloads.slice(3, 7).map((p) => (p.delta as { type: string; text: string }).text);
    expect(texts).toEqual(exp.chunks);
    expect(payloads[8]).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 4 },
    });
  });

  it('answers "call tool" with a tool_use block', async () => {
    const body = {
      model: 'claude-sonnet-4-5',
      max_tokens: 10,
      tools: [{ name: 'lookup', input_schema: { type: 'object' } }],
      messages: [{ role: 'user', content: 'call tool please' }],
    };
    const json = (await (await postJson(`${mock.url}/v1/messages`, body)).json()) as Record<string, unknown>;
    expect(json.stop_reason).toBe('tool_use');
    expect(json.content).toEqual([
      { type: 'tool_use', id: expect.stringMatching(/^toolu_mock_/), name: 'lookup', input: {} },
    ]);
    const streamed = parseSse(
      await (await postJson(`${mock.url}/v1/messages`, { ...body, stream: true })).text(),
    );
    const delta = streamed.find((e) => e.event === 'content_block_delta');
    expect(JSON.parse(delta?.data ?? '{}')).toMatchObject({
      delta: { type: 'input_json_delta', partial_json: '{}' },
    });
  });

  it('answers malformed JSON with an Anthropic-shaped 400 and counts tokens', async () => {
    const res = await postJson(`${mock.url}/v1/messages`, 'not json');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.any(String) },
    });
    const count = await postJson(`${mock.url}/v1/messages/count_tokens`, anthropicBody);
    expect(await count.json()).toEqual({ input_tokens: expectedCompletion(anthropicBody).promptTokens });
  });
});

describe('requireKey', () => {
  it('accepts the right bearer token or x-api-key and answers others with 401 in the route shape', async () => {
    const guarded = await startMockUpstream({ requireKey: 'sk-right' });
    try {
      const chat = `${guarded.url}/v1/chat/completions`;
      expect((await postJson(chat, { messages }, { authorization: 'Bearer sk-right' })).status).toBe(200);
      expect((await postJson(chat, { messages }, { 'x-api-key': 'sk-right' })).status).toBe(200);
      const wrong = await postJson(chat, { messages }, { authorization: 'Bearer sk-wrong' });
      expect(wrong.status).toBe(401);
      expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
      const anthropic = await postJson(
        `${guarded.url}/v1/messages`,
        { messages },
        { 'x-api-key': 'sk-wrong' },
      );
      expect(anthropic.status).toBe(401);
      expect(await anthropic.json()).toEqual({
        type: 'error',
        error: { type: 'authentication_error', message: expect.any(String) },
      });
      expect(guarded.requests.map((r) => r.headers['x-api-key'] ?? r.headers.authorization)).toEqual([
        'Bearer sk-right',
        'sk-right',
        'Bearer sk-wrong',
        'sk-wrong',
      ]);
    } finally {
      await guarded.close();
    }
  });
});
