import { defaultChannelRouting, API_KEY_ACCOUNT } from '@switchyard/core';
import type { Channel } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { ProviderDeps, UpstreamCall } from '../../provider-adapter.js';
import { azureOpenAIProvider as azure } from './provider.js';

const deps: ProviderDeps = { now: () => 0, postForm: () => Promise.reject(new Error('unused')) };
const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello' }] };

function call(
  over: Partial<UpstreamCall> & { baseUrl?: string; options?: Record<string, string> } = {},
): UpstreamCall {
  const { baseUrl, options, ...rest } = over;
  const channel: Channel = {
    id: 4,
    name: 'azure',
    provider: 'azure-openai',
    baseUrl: baseUrl ?? 'https://contoso.openai.azure.com',
    options: options ?? {},
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
    account: { id: 1, channelId: 4, name: 'a', enabled: true, apiKey: 'azure-key-1', ...API_KEY_ACCOUNT },
    operation: 'chat',
    format: 'openai-chat',
    model: 'my-gpt4o-deployment',
    stream: false,
    body,
    clientHeaders: {},
    ...rest,
  };
}

describe('Azure OpenAI provider', () => {
  it('when chat is prepared on a resource endpoint, then the deployment URL carries the default api-version', async () => {
    const p = await azure.prepare(call(), deps);
    expect(p).toEqual({
      origin: 'https://contoso.openai.azure.com',
      path: '/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-10-21',
      method: 'POST',
      headers: { 'api-key': 'azure-key-1', 'content-type': 'application/json' },
      body: JSON.stringify(body),
      framing: 'sse',
    });
  });

  it('when the channel sets api_version, then that version is sent', async () => {
    const p = await azure.prepare(call({ options: { api_version: '2025-04-01-preview' } }), deps);
    expect(p.path).toBe(
      '/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2025-04-01-preview',
    );
  });

  it('when embeddings and completions are prepared, then they use the deployment paths', async () => {
    const e = await azure.prepare(
      call({ operation: 'embeddings', model: 'emb', body: { input: 'x' } }),
      deps,
    );
    expect(e.path).toBe('/openai/deployments/emb/embeddings?api-version=2024-10-21');
    const c = await azure.prepare(call({ operation: 'completions', model: 'instruct' }), deps);
    expect(c.path).toBe('/openai/deployments/instruct/completions?api-version=2024-10-21');
  });

  it('when the deployment name has reserved characters, then it is encoded as one segment', async () => {
    const p = await azure.prepare(call({ model: 'team a/gpt' }), deps);
    expect(p.path).toBe('/openai/deployments/team%20a%2Fgpt/chat/completions?api-version=2024-10-21');
  });

  it('when the base URL already ends in /openai, then /openai is not doubled', async () => {
    const p = await azure.prepare(
      call({ baseUrl: 'https://contoso.cognitiveservices.azure.com/openai/' }),
      deps,
    );
    expect(p.origin).toBe('https://contoso.cognitiveservices.azure.com');
    expect(p.path).toBe('/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-10-21');
  });

  it('when the base URL is the v1 API, then OpenAI paths are used under it without api-version', async () => {
    const v1 = {
      baseUrl: 'https://contoso.openai.azure.com/openai/v1',
      options: { api_version: '2024-10-21' },
    };
    const p = await azure.prepare(call({ ...v1, stream: true, body: { ...body, stream: true } }), deps);
    expect(p.path).toBe('/openai/v1/chat/completions');
    expect(p.headers).toEqual({ 'api-key': 'azure-key-1', 'content-type': 'application/json' });
    expect(JSON.parse(p.body)).toMatchObject({ model: 'gpt-4o', stream: true });
    const e = await azure.prepare(call({ ...v1, operation: 'embeddings' }), deps);
    expect(e.path).toBe('/openai/v1/embeddings');
  });

  it('when the v1 base URL carries a query, then it is kept', async () => {
    const p = await azure.prepare(
      call({ baseUrl: 'https://contoso.openai.azure.com/openai/v1?api-version=preview' }),
      deps,
    );
    expect(p.path).toBe('/openai/v1/chat/completions?api-version=preview');
  });

  it('when asked what it serves, then models and count_tokens are unsupported and OpenAI Chat passes through', async () => {
    const ch = call().channel;
    expect(azure.supports('chat', ch, 'd')).toBe(true);
    expect(azure.supports('embeddings', ch, 'd')).toBe(true);
    expect(azure.supports('models', ch, 'd')).toBe(false);
    expect(azure.supports('count_tokens', ch, 'd')).toBe(false);
    expect(azure.chatFormat(ch, 'd')).toBe('openai-chat');
    expect(azure.passthrough('openai-chat')).toBe(true);
    await expect(azure.prepare(call({ operation: 'models' }), deps)).rejects.toMatchObject({
      code: 'unsupported_operation',
    });
  });
});
