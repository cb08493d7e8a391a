import { defaultChannelRouting, API_KEY_ACCOUNT } from '@switchyard/core';
import type { Channel } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { ProviderDeps, UpstreamCall } from '../../provider-adapter.js';
import { geminiProvider as gemini } from './provider.js';

const deps: ProviderDeps = { now: () => 0, postForm: () => Promise.reject(new Error('unused')) };
const body = { contents: [{ role: 'user', parts: [{ text: 'Explain how AI works in a few words' }] }] };

function call(over: Partial<UpstreamCall> & { baseUrl?: string } = {}): UpstreamCall {
  const { baseUrl, ...rest } = over;
  const channel: Channel = {
    id: 6,
    name: 'gemini',
    provider: 'gemini',
    baseUrl: baseUrl ?? 'https://generativelanguage.googleapis.com',
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
  return {
    channel,
    account: { id: 1, channelId: 6, name: 'a', enabled: true, apiKey: 'AIza-test', ...API_KEY_ACCOUNT },
    operation: 'chat',
    format: 'gemini',
    model: 'gemini-2.5-flash',
    stream: false,
    body,
    clientHeaders: {},
    ...rest,
  };
}

describe('Gemini provider', () => {
  it('when chat is prepared, then it POSTs to models/{model}:generateContent with x-goog-api-key', async () => {
    const p = await gemini.prepare(call(), deps);
    expect(p).toEqual({
      origin: 'https://generativelanguage.googleapis.com',
      path: '/v1beta/models/gemini-2.5-flash:generateContent',
      method: 'POST',
      headers: { 'x-goog-api-key': 'AIza-test', 'content-type': 'application/json' },
      body: JSON.stringify(body),
      framing: 'sse',
    });
  });

  it('when chat streams, then :streamGenerateContent?alt=sse is used', async () => {
    const p = await gemini.prepare(call({ stream: true }), deps);
    expect(p.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(p.framing).toBe('sse');
  });

  it('when the body carries a model, then it is left out (the URL names the model)', async () => {
    const p = await gemini.prepare(call({ body: { ...body, model: 'gemini-2.5-pro' } }), deps);
    expect(JSON.parse(p.body)).toEqual(body);
  });

  it('when the base URL ends in /v1beta or the model has a models/ prefix, then neither is doubled', async () => {
    const p = await gemini.prepare(
      call({
        baseUrl: 'https://generativelanguage.googleapis.com/v1beta/',
        model: 'models/gemini-2.0-flash',
      }),
      deps,
    );
    expect(p.path).toBe('/v1beta/models/gemini-2.0-flash:generateContent');
  });

  it('when models are listed, then it is a GET of /v1beta/models', async () => {
    const p = await gemini.prepare(call({ operation: 'models', format: 'openai-chat' }), deps);
    expect(p).toMatchObject({
      method: 'GET',
      path: '/v1beta/models',
      body: '',
      headers: { 'x-goog-api-key': 'AIza-test' },
    });
  });

  it('when asked what it serves, then chat and models, Gemini passes through', async () => {
    const ch = call().channel;
    expect(gemini.chatFormat(ch, 'gemini-2.5-pro')).toBe('gemini');
    expect(gemini.passthrough('gemini')).toBe(true);
    expect(gemini.supports('models', ch, 'm')).toBe(true);
    expect(gemini.supports('embeddings', ch, 'm')).toBe(false);
    expect(gemini.supports('count_tokens', ch, 'm')).toBe(false);
    await expect(gemini.prepare(call({ operation: 'embeddings' }), deps)).rejects.toMatchObject({
      code: 'unsupported_operation',
    });
  });

  it('when a Gemini SSE stream is unframed, then each data line is one event', () => {
    const u = gemini.createUnframer('gemini');
    const text =
      'data: {"candidates":[{"content":{"parts":[{"text":"AI"}]}}]}\r\n\r\ndata: {"candidates":[]}';
    expect([...u.push(Buffer.from(text)), ...u.end()]).toEqual([
      { event: null, data: '{"candidates":[{"content":{"parts":[{"text":"AI"}]}}]}' },
      { event: null, data: '{"candidates":[]}' },
    ]);
  });

  it('when the account is an OAuth account (bearer scheme), then the token goes in Authorization and no x-goog-api-key is sent', async () => {
    const base = call();
    const account = {
      ...base.account,
      kind: 'oauth' as const,
      authScheme: 'bearer' as const,
      apiKey: 'ya29.token',
    };
    for (const operation of ['chat', 'models'] as const) {
      const p = await gemini.prepare({ ...base, operation, account }, deps);
      expect(p.headers.authorization, operation).toBe('Bearer ya29.token');
      expect('x-goog-api-key' in p.headers, operation).toBe(false);
    }
  });
});
