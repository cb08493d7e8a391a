import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProviderMatrix, type ProviderMatrix } from './provider-matrix.js';

/**
 * The client-facing APIs around generation: same-format passthrough keeps unknown fields and
 * forwards the Anthropic headers; image URLs reach inline-only upstreams through the SSRF guard;
 * every format's authentication and its errors; model lists in each client's shape.
 */
let m: ProviderMatrix;
let images: Server;
let imageUrl: string;
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

beforeAll(async () => {
  // Loopback admitted for the test's image server; link-local and metadata stay refused regardless.
  m = await startProviderMatrix({ SWITCHYARD_IMAGE_FETCH_ALLOW: 'loopback' });
  images = createServer((req, res) => {
    if (req.url === '/cat.png') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG.length });
      res.end(PNG);
    } else if (req.url === '/to-metadata') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  const addr = images.address();
  imageUrl = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
});

afterAll(async () => {
  await m?.stop();
  await new Promise<void>((resolve) => images?.close(() => resolve()));
});

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const res = await fetch(`${m.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // streams are checked as text
  }
  return { status: res.status, json, text };
}

const bearer = (): Record<string, string> => ({ authorization: `Bearer ${m.key.key}` });

describe('same-format passthrough', () => {
  it('when an Anthropic client talks to an Anthropic channel, then unknown fields and the beta header reach it and only the model changes', async () => {
    const body = {
      model: 'm-anthropic',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'Hello passthrough' }],
      some_future_field: { keep: ['me'] },
      container: 'c-1',
    };
    const r = await post('/v1/messages', body, {
      'x-api-key': m.key.key,
      'anthropic-version': '2023-06-01',
      'anthropic-beta': 'interleaved-thinking-2025-05-14',
    });
    expect(r.status).toBe(200);
    const up = m.mock.requests.at(-1)!;
    expect(up.path).toBe('/v1/messages');
    expect(up.body).toEqual({ ...body, model: 'claude-sonnet-4-5' });
    expect(up.headers['anthropic-beta']).toBe('interleaved-thinking-2025-05-14');
    expect(up.headers['anthropic-version']).toBe('2023-06-01');
    expect(up.headers['x-api-key']).toBe('sk-ant-test');
    // The answer is the upstream's own body (its model name included).
    expect(r.json).toMatchObject({ type: 'message', model: 'claude-sonnet-4-5' });
  });

  it('when a Gemini client talks to a Gemini channel, then the body arrives unchanged under the mapped model', async () => {
    const body = {
      contents: [{ role: 'user', parts: [{ text: 'Hello gemini passthrough' }] }],
      safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }],
      futureField: 1,
    };
    const r = await post('/v1beta/models/m-gemini:generateContent', body, { 'x-goog-api-key': m.key.key });
    expect(r.status).toBe(200);
    const up = m.mock.requests.at(-1)!;
    expect(up.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(up.body).toEqual(body);
    expect(up.headers['x-goog-api-key']).toBe('gemini-key');
  });

  it('when a Gemini client streams without alt=sse, then it gets a JSON array of chunks', async () => {
    const r = await post(
      '/v1beta/models/m-gemini:streamGenerateContent',
      { contents: [{ parts: [{ text: 'Array please' }] }] },
      { 'x-goog-api-key': m.key.key },
    );
    expect(r.status).toBe(200);
    const chunks = JSON.parse(r.text) as Array<{
      candidates: Array<{ content: { parts: Array<{ text?: string }> } }>;
    }>;
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(chunks.map((c) => c.candidates[0]!.content.parts.map((p) => p.text ?? '').join('')).join('')).toBe(
      'Echo: Array please',
    );
  });

  it('when a Gemini client passes its key as ?key=, then it is accepted', async () => {
    const r = await post(`/v1beta/models/m-openai:generateContent?key=${m.key.key}`, {
      contents: [{ parts: [{ text: 'Query key' }] }],
    });
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.json)).toContain('Echo: Query key');
  });
});

describe('signed and token-authenticated upstreams', () => {
  it('when Bedrock is called, then every request carries a SigV4 signature the mock verified', async () => {
    const r = await post(
      '/v1/chat/completions',
      { model: 'm-bedrock-converse', messages: [{ role: 'user', content: 'signed' }] },
      bearer(),
    );
    expect(r.status, r.text).toBe(200);
    const up = m.mock.requests.at(-1)!;
    expect(up.path).toBe('/model/meta.llama3-70b-instruct-v1%3A0/converse');
    expect(up.awsAccessKeyId).toBe('AKIDEXAMPLE');
    expect(String(up.headers.authorization)).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/bedrock\/aws4_request/,
    );
  });

  it('when Vertex is called many times, then one token exchange serves them all', async () => {
    const before = m.mock.tokenExchanges;
    for (let i = 0; i < 5; i++) {
      const r = await post(
        '/v1/chat/completions',
        {
          model: i % 2 === 0 ? 'm-vertex-gemini' : 'm-vertex-claude',
          messages: [{ role: 'user', content: `t${i}` }],
        },
        bearer(),
      );
      expect(r.status, r.text).toBe(200);
    }
    // At most the first exchange of this process (earlier tests may already have made it).
    expect(m.mock.tokenExchanges - before).toBeLessThanOrEqual(1);
    expect(m.mock.tokenExchanges).toBeGreaterThanOrEqual(1);
    const up = m.mock.requests.filter((x) => x.path.includes('/publishers/')).at(-1)!;
    expect(String(up.headers.authorization)).toMatch(/^Bearer \S+/);
  });
});

describe('a Vertex account whose token exchange fails', () => {
  it('when the token endpoint refuses, then the client gets 502 upstream_auth_failed without the key in it', async () => {
    const sa = m.mock.googleServiceAccount();
    const ch = await m.t.admin<{ id: number }>('POST', '/channels', {
      name: 'vertex-broken',
      provider: 'vertex',
      base_url: m.mock.url,
      options: { project_id: 'mock-project', token_url: `${m.mock.url}/token` },
      models: ['m-vertex-broken'],
      model_mapping: { 'm-vertex-broken': 'gemini-2.5-pro' },
      accounts: [{ api_key: JSON.stringify(sa) }],
    });
    expect(ch.status).toBe(201);
    m.mock.tokenStatus = 401;
    try {
      const r = await post(
        '/v1/chat/completions',
        { model: 'm-vertex-broken', messages: [{ role: 'user', content: 'x' }] },
        bearer(),
      );
      expect(r.status).toBe(502);
      expect(r.json).toMatchObject({ error: { code: 'upstream_auth_failed' } });
      expect(r.text).not.toContain('PRIVATE KEY');
      expect(m.t.rawLog()).not.toContain(sa.private_key.split('\n')[1]!);
    } finally {
      m.mock.tokenStatus = null;
    }
  });
});

describe('image URLs for upstreams that need inline images', () => {
  it('when an OpenAI client sends an image URL to a Gemini model, then the relay fetches it and Gemini gets inlineData', async () => {
    const r = await post(
      '/v1/chat/completions',
      {
        model: 'm-gemini',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Describe' },
              { type: 'image_url', image_url: { url: `${imageUrl}/cat.png` } },
            ],
          },
        ],
      },
      bearer(),
    );
    expect(r.status, r.text).toBe(200);
    expect((r.json.choices as Array<{ message: { content: string } }>)[0]!.message.content).toBe(
      `Echo: Describe [image: image/png, ${PNG.length}]`,
    );
    const up = m.mock.requests.at(-1)!.body as { contents: Array<{ parts: Array<Record<string, unknown>> }> };
    expect(up.contents[0]!.parts[1]).toEqual({
      inlineData: { mimeType: 'image/png', data: PNG.toString('base64') },
    });
  });

  it('when an Anthropic client sends an image URL to a Bedrock Converse model, then Converse gets the bytes', async () => {
    const r = await post(
      '/v1/messages',
      {
        model: 'm-bedrock-converse',
        max_tokens: 64,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Describe' },
              { type: 'image', source: { type: 'url', url: `${imageUrl}/cat.png` } },
            ],
          },
        ],
      },
      { 'x-api-key': m.key.key },
    );
    expect(r.status, r.text).toBe(200);
    expect(r.json.content).toEqual([
      { type: 'text', text: `Echo: Describe [image: image/png, ${PNG.length}]` },
    ]);
  });

  it('when an image URL redirects to the metadata address, then the client gets 400 and nothing is sent upstream', async () => {
    const before = m.mock.requests.length;
    const r = await post(
      '/v1/chat/completions',
      {
        model: 'm-gemini',
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: `${imageUrl}/to-metadata` } }],
          },
        ],
      },
      bearer(),
    );
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: { code: 'image_url_refused', type: 'invalid_request_error' } });
    expect(m.mock.requests.length).toBe(before);
  });
});

describe('request ids', () => {
  it('when an Anthropic client is answered, then the request id is in request-id as Anthropic SDKs expect', async () => {
    const res = await fetch(`${m.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': m.key.key, 'content-type': 'application/json', 'x-request-id': 'claude-req-1' },
      body: JSON.stringify({
        model: 'm-openai',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'id?' }],
      }),
    });
    await res.text();
    expect(res.headers.get('request-id')).toBe('claude-req-1');
    expect(res.headers.get('x-request-id')).toBe('claude-req-1');
  });
});

describe('authentication in every client format', () => {
  it('when an Anthropic client sends a wrong x-api-key, then 401 authentication_error in Anthropic shape', async () => {
    const r = await post(
      '/v1/messages',
      { model: 'm-anthropic', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] },
      { 'x-api-key': 'sk-wrong' },
    );
    expect(r.status).toBe(401);
    expect(r.json).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: expect.any(String) },
    });
  });

  it('when a Gemini client sends no key, then 401 UNAUTHENTICATED in Gemini shape', async () => {
    const r = await post('/v1beta/models/m-gemini:generateContent', {
      contents: [{ parts: [{ text: 'x' }] }],
    });
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
  });

  it('when a Gemini client names a model nobody serves, then 404 NOT_FOUND', async () => {
    const r = await post(
      '/v1beta/models/nobody-serves-this:generateContent',
      { contents: [{ parts: [{ text: 'x' }] }] },
      { 'x-goog-api-key': m.key.key },
    );
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
  });

  it('when an Anthropic client omits max_tokens, then 400 invalid_request_error names it', async () => {
    const r = await post(
      '/v1/messages',
      { model: 'm-openai', messages: [{ role: 'user', content: 'x' }] },
      { 'x-api-key': m.key.key },
    );
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(JSON.stringify(r.json)).toContain('max_tokens');
  });
});

describe('model lists', () => {
  it('when an Anthropic client lists models, then it gets Anthropic’s list shape', async () => {
    const res = await fetch(`${m.url}/v1/models`, {
      headers: { 'x-api-key': m.key.key, 'anthropic-version': '2023-06-01' },
    });
    const body = (await res.json()) as { data: Array<{ type: string; id: string }>; has_more: boolean };
    expect(res.status).toBe(200);
    expect(body.has_more).toBe(false);
    expect(body.data.map((d) => d.id)).toContain('m-anthropic');
    expect(body.data[0]!.type).toBe('model');
  });

  it('when a Gemini client lists models, then it gets models/<name> entries with generation methods', async () => {
    const res = await fetch(`${m.url}/v1beta/models`, { headers: { 'x-goog-api-key': m.key.key } });
    const body = (await res.json()) as {
      models: Array<{ name: string; supportedGenerationMethods: string[] }>;
    };
    expect(res.status).toBe(200);
    expect(body.models.map((x) => x.name)).toContain('models/m-gemini');
    expect(body.models[0]!.supportedGenerationMethods).toContain('generateContent');
  });

  it('when an OpenAI client retrieves one model, then it gets it, and an unknown one is 404', async () => {
    const ok = await fetch(`${m.url}/v1/models/m-openai`, { headers: bearer() });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ id: 'm-openai', object: 'model' });
    const missing = await fetch(`${m.url}/v1/models/nope`, { headers: bearer() });
    expect(missing.status).toBe(404);
  });
});

describe('OpenAI-only operations', () => {
  it('when embeddings are asked of an OpenAI-compatible channel, then they pass through and are billed', async () => {
    const r = await post('/v1/embeddings', { model: 'm-openai', input: ['a', 'bb'] }, bearer());
    expect(r.status).toBe(200);
    expect((r.json.data as unknown[]).length).toBe(2);
    await m.t.gw.idle();
    const rows = await m.t.admin<{ data: Array<{ model: string; prompt_tokens: number }> }>(
      'GET',
      `/usage?key_id=${m.key.id}&limit=1`,
    );
    expect(rows.body.data[0]).toMatchObject({
      model: 'm-openai',
      prompt_tokens: (r.json.usage as { prompt_tokens: number }).prompt_tokens,
    });
  });

  it('when embeddings are asked of a model only an Anthropic channel serves, then 400 operation_not_supported', async () => {
    const r = await post('/v1/embeddings', { model: 'm-anthropic', input: 'a' }, bearer());
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: { code: 'operation_not_supported' } });
  });

  it('when legacy completions go to an Azure deployment, then the deployment URL is used', async () => {
    const r = await post('/v1/completions', { model: 'm-azure', prompt: 'Say hi' }, bearer());
    const up = m.mock.requests.at(-1)!;
    expect(up.path).toBe('/openai/deployments/my-gpt4o-deployment/completions');
    expect(up.query?.['api-version']).toBe('2024-10-21');
    expect(up.headers['api-key']).toBe('azure-key');
    expect(r.status).toBeLessThan(500);
  });
});

describe('a Claude Code-shaped agent loop through a conversion', () => {
  it('when the beta Messages API streams thinking and a tool call from an OpenAI model, then the loop completes with the tool result upstream', async () => {
    const { default: Anthropic } = await import('@anthropic-ai/sdk');
    const client = new Anthropic({ apiKey: m.key.key, baseURL: m.url, maxRetries: 0 });
    const tools = [
      {
        name: 'Read',
        description: 'Reads a file from the local filesystem.',
        input_schema: {
          type: 'object' as const,
          properties: { file_path: { type: 'string' } },
          required: ['file_path'],
        },
        cache_control: { type: 'ephemeral' as const },
      },
    ];
    const system = [
      { type: 'text' as const, text: 'You are Claude Code, an interactive CLI tool.' },
      { type: 'text' as const, text: 'Use the tools.', cache_control: { type: 'ephemeral' as const } },
    ];
    const ask = 'Please call tool Read on README.md';
    const first = await client.beta.messages
      .stream({
        model: 'm-openai',
        max_tokens: 8192,
        thinking: { type: 'enabled', budget_tokens: 2048 },
        system,
        tools,
        metadata: { user_id: 'user_abc_session_1' },
        messages: [
          { role: 'user', content: [{ type: 'text', text: ask, cache_control: { type: 'ephemeral' } }] },
        ],
      })
      .finalMessage();
    expect(m.mock.requests.at(-1)!.path).toBe('/v1/chat/completions');
    expect(first.content[0]).toMatchObject({ type: 'thinking', thinking: `Thinking about: ${ask}` });
    const use = first.content.find((b) => b.type === 'tool_use');
    expect(use).toMatchObject({ name: 'Read', input: { file_path: ask } });
    expect(first.stop_reason).toBe('tool_use');

    const second = await client.beta.messages.create({
      model: 'm-openai',
      max_tokens: 8192,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      system,
      tools,
      messages: [
        { role: 'user', content: ask },
        { role: 'assistant', content: first.content },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: use!.type === 'tool_use' ? use!.id : '',
              content: '# Switchyard',
            },
          ],
        },
      ],
    });
    expect(second.stop_reason).toBe('end_turn');
    const upstream = m.mock.requests.at(-1)!.body as {
      messages: Array<Record<string, unknown>>;
      reasoning_effort?: string;
    };
    expect(upstream.reasoning_effort).toBe('low');
    expect(upstream.messages.at(-1)).toMatchObject({ role: 'tool', content: '# Switchyard' });
    expect(upstream.messages[0]).toMatchObject({ role: 'system' });
  });
});

describe('cached and reasoning tokens in the usage ledger', () => {
  interface UsageRow {
    client_request_id: string | null;
    model: string;
    prompt_tokens: number;
    completion_tokens: number;
    cached_tokens: number;
    reasoning_tokens: number;
  }

  /** The ledger row of the request sent with `x-request-id: clientId`, once accounting has written it. */
  async function usageRow(clientId: string): Promise<UsageRow | undefined> {
    await m.t.gw.idle();
    const rows = await m.t.admin<{ data: UsageRow[] }>('GET', `/usage?key_id=${m.key.id}&limit=50`);
    expect(rows.status).toBe(200);
    return rows.body.data.find((r) => r.client_request_id === clientId);
  }

  const chat = (model: string, extra: Record<string, unknown> = {}) => ({
    model,
    messages: [{ role: 'user', content: 'Count my cached tokens' }],
    ...extra,
  });

  it('when the upstream reports cached prompt tokens, then the passthrough and the conversion both record them', async () => {
    m.mock.cachedTokens = 4;
    try {
      const passthrough = await post('/v1/chat/completions', chat('m-openai'), {
        ...bearer(),
        'x-request-id': 'cache-passthrough',
      });
      expect(passthrough.status).toBe(200);
      expect(m.mock.requests.at(-1)!.path).toBe('/v1/chat/completions');
      const converted = await post('/v1/chat/completions', chat('m-anthropic'), {
        ...bearer(),
        'x-request-id': 'cache-conversion',
      });
      expect(converted.status).toBe(200);
      expect(m.mock.requests.at(-1)!.path).toBe('/v1/messages');
    } finally {
      m.mock.cachedTokens = 0;
    }
    const rowA = await usageRow('cache-passthrough');
    expect(rowA).toMatchObject({ model: 'm-openai', cached_tokens: 4, reasoning_tokens: 0 });
    expect(rowA!.prompt_tokens).toBeGreaterThanOrEqual(4);
    const rowB = await usageRow('cache-conversion');
    expect(rowB).toMatchObject({ model: 'm-anthropic', cached_tokens: 4, reasoning_tokens: 0 });
    expect(rowB!.prompt_tokens).toBeGreaterThanOrEqual(4);
  });

  it('when a Gemini model reasons for an OpenAI client, then the row records its reasoning tokens within the completion tokens', async () => {
    const r = await post('/v1/chat/completions', chat('m-gemini', { reasoning_effort: 'low' }), {
      ...bearer(),
      'x-request-id': 'reasoning-gemini',
    });
    expect(r.status).toBe(200);
    const row = await usageRow('reasoning-gemini');
    expect(row).toMatchObject({ model: 'm-gemini', cached_tokens: 0 });
    expect(row!.reasoning_tokens).toBeGreaterThan(0);
    expect(row!.reasoning_tokens).toBeLessThanOrEqual(row!.completion_tokens);
  });
});

describe('Gemini countTokens', () => {
  it('when the genai SDK counts tokens for a model behind an OpenAI channel, then it gets a local estimate', async () => {
    const { GoogleGenAI } = await import('@google/genai');
    const ai = new GoogleGenAI({ apiKey: m.key.key, httpOptions: { baseUrl: m.url } });
    const short = await ai.models.countTokens({ model: 'm-openai', contents: 'Hi' });
    const long = await ai.models.countTokens({
      model: 'm-openai',
      contents: 'A much longer sentence that certainly holds more tokens than the first one did.',
    });
    expect(short.totalTokens).toBeGreaterThan(0);
    expect(long.totalTokens).toBeGreaterThan(short.totalTokens!);
  });

  it('when countTokens gets no contents, then 400 INVALID_ARGUMENT', async () => {
    const r = await post('/v1beta/models/m-openai:countTokens', {}, { 'x-goog-api-key': m.key.key });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
  });
});
