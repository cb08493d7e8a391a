import { defaultChannelRouting, API_KEY_ACCOUNT } from '@switchyard/core';
import { PROVIDER_CATALOG, type Channel, type ProviderId } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { ProviderDeps, UpstreamCall } from '../../provider-adapter.js';
import { openAICompatibleProvider, type OpenAICompatibleId } from './provider.js';

const deps: ProviderDeps = { now: () => 0, postForm: () => Promise.reject(new Error('unused')) };
const openai = openAICompatibleProvider('openai');
const chatBody = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hi' }], stream: false };

function channel(provider: ProviderId, baseUrl: string): Channel {
  return {
    id: 3,
    name: provider,
    provider,
    baseUrl,
    options: {},
    models: [],
    modelMapping: {},
    priority: 0,
    weight: 1,
    groups: ['default'],
    ...defaultChannelRouting(),
    enabled: true,
    accounts: [],
  };
}

function call(
  over: Partial<UpstreamCall> & { baseUrl?: string; provider?: ProviderId; apiKey?: string } = {},
): UpstreamCall {
  const { baseUrl, provider, apiKey, ...rest } = over;
  const ch = channel(provider ?? 'openai', baseUrl ?? 'https://api.openai.com/v1');
  return {
    channel: ch,
    account: {
      id: 1,
      channelId: ch.id,
      name: 'a',
      enabled: true,
      apiKey: apiKey ?? 'sk-test-123',
      ...API_KEY_ACCOUNT,
    },
    operation: 'chat',
    format: 'openai-chat',
    model: 'gpt-4o-mini',
    stream: false,
    body: chatBody,
    clientHeaders: {},
    ...rest,
  };
}

const PRESETS = (Object.keys(PROVIDER_CATALOG) as ProviderId[]).filter(
  (id): id is OpenAICompatibleId => PROVIDER_CATALOG[id].openaiCompatible && id !== 'azure-openai',
);

describe('OpenAI-compatible provider', () => {
  it('when chat is prepared, then it POSTs the body as JSON to {base}/chat/completions with a bearer token', async () => {
    const p = await openai.prepare(call(), deps);
    expect(p).toEqual({
      origin: 'https://api.openai.com',
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { authorization: 'Bearer sk-test-123', 'content-type': 'application/json' },
      body: JSON.stringify(chatBody),
      framing: 'sse',
    });
  });

  it('when chat streams, then the same endpoint is used with the streaming body and SSE framing', async () => {
    const body = { ...chatBody, stream: true, stream_options: { include_usage: true } };
    const p = await openai.prepare(call({ stream: true, body }), deps);
    expect(p.path).toBe('/v1/chat/completions');
    expect(p.body).toBe(JSON.stringify(body));
    expect(p.framing).toBe('sse');
  });

  it('when embeddings and completions are prepared, then their paths are appended to the base', async () => {
    const emb = { model: 'text-embedding-3-small', input: 'The food was delicious' };
    const e = await openai.prepare(call({ operation: 'embeddings', body: emb }), deps);
    expect([e.method, e.path, e.body]).toEqual(['POST', '/v1/embeddings', JSON.stringify(emb)]);
    const c = await openai.prepare(
      call({ operation: 'completions', body: { model: 'x', prompt: 'Hi' } }),
      deps,
    );
    expect([c.method, c.path]).toEqual(['POST', '/v1/completions']);
  });

  it('when models are listed, then it is a GET with no body and no content-type', async () => {
    const p = await openai.prepare(call({ operation: 'models' }), deps);
    expect(p.method).toBe('GET');
    expect(p.path).toBe('/v1/models');
    expect(p.body).toBe('');
    expect(p.headers).toEqual({ authorization: 'Bearer sk-test-123' });
  });

  it.each(PRESETS)(
    'when the %s preset uses its default base URL, then chat goes to {default}/chat/completions',
    async (id) => {
      const base = PROVIDER_CATALOG[id].defaultBaseUrl!;
      const p = await openAICompatibleProvider(id).prepare(call({ provider: id, baseUrl: base }), deps);
      expect(`${p.origin}${p.path}`).toBe(`${base}/chat/completions`);
      expect(p.headers.authorization).toBe('Bearer sk-test-123');
    },
  );

  it('when presets with a path prefix are used, then the prefix is kept', async () => {
    const groq = await openAICompatibleProvider('groq').prepare(
      call({ provider: 'groq', baseUrl: 'https://api.groq.com/openai/v1' }),
      deps,
    );
    expect(groq.path).toBe('/openai/v1/chat/completions');
    const zhipu = await openAICompatibleProvider('zhipu').prepare(
      call({ provider: 'zhipu', baseUrl: 'https://open.bigmodel.cn/api/paas/v4', operation: 'models' }),
      deps,
    );
    expect(`${zhipu.origin}${zhipu.path}`).toBe('https://open.bigmodel.cn/api/paas/v4/models');
  });

  it('when the base URL has a trailing slash and a query, then the slash is dropped and the query kept', async () => {
    const p = await openai.prepare(call({ baseUrl: 'http://127.0.0.1:8000/v1/?tenant=a' }), deps);
    expect(p.origin).toBe('http://127.0.0.1:8000');
    expect(p.path).toBe('/v1/chat/completions?tenant=a');
  });

  it('when the account has no key (a local server), then no Authorization header is sent', async () => {
    const p = await openAICompatibleProvider('ollama').prepare(
      call({ provider: 'ollama', baseUrl: 'http://127.0.0.1:11434/v1', apiKey: '', ...API_KEY_ACCOUNT }),
      deps,
    );
    expect(p.headers).toEqual({ 'content-type': 'application/json' });
  });

  it('when asked about formats and operations, then it speaks OpenAI Chat, passes it through and counts no tokens', () => {
    const ch = channel('openai', 'https://api.openai.com/v1');
    expect(openai.chatFormat(ch, 'gpt-4o')).toBe('openai-chat');
    expect(openai.passthrough('openai-chat')).toBe(true);
    expect(openai.passthrough('anthropic-messages')).toBe(false);
    const ops = ['chat', 'models', 'embeddings', 'completions', 'count_tokens'] as const;
    expect(ops.map((op) => openai.supports(op, ch, 'm'))).toEqual([true, true, true, true, false]);
  });

  it('when count_tokens is prepared anyway, then it is refused', async () => {
    await expect(openai.prepare(call({ operation: 'count_tokens' }), deps)).rejects.toMatchObject({
      code: 'unsupported_operation',
    });
  });

  it('when the channel has no usable base URL, then a retryable misconfiguration error is raised', async () => {
    await expect(openai.prepare(call({ baseUrl: '' }), deps)).rejects.toMatchObject({
      code: 'upstream_misconfigured',
      retryable: true,
    });
  });

  it('when an SSE answer arrives in pieces, then the unframer yields its data events and skips comments', () => {
    const u = openai.createUnframer('openai-chat');
    const text = ': keep-alive\n\ndata: {"choices":[{"delta":{"content":"Hé"}}]}\n\ndata: [DONE]\n\n';
    const bytes = Buffer.from(text);
    const out = [...u.push(bytes.subarray(0, 30)), ...u.push(bytes.subarray(30)), ...u.end()];
    expect(out).toEqual([
      { event: null, data: '{"choices":[{"delta":{"content":"Hé"}}]}' },
      { event: null, data: '[DONE]' },
    ]);
  });
});
