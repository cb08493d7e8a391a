import { defaultChannelRouting, API_KEY_ACCOUNT } from '@switchyard/core';
import type { Channel } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { ProviderDeps, UpstreamCall } from '../../provider-adapter.js';
import { anthropicProvider as anthropic } from './provider.js';

const deps: ProviderDeps = { now: () => 0, postForm: () => Promise.reject(new Error('unused')) };
const body = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  messages: [{ role: 'user', content: 'Hello, world' }],
};

function call(
  over: Partial<UpstreamCall> & { baseUrl?: string; options?: Record<string, string> } = {},
): UpstreamCall {
  const { baseUrl, options, ...rest } = over;
  const channel: Channel = {
    id: 5,
    name: 'anthropic',
    provider: 'anthropic',
    baseUrl: baseUrl ?? 'https://api.anthropic.com',
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
    account: { id: 1, channelId: 5, name: 'a', enabled: true, apiKey: 'sk-ant-test', ...API_KEY_ACCOUNT },
    operation: 'chat',
    format: 'anthropic-messages',
    model: 'claude-sonnet-4-5',
    stream: false,
    body,
    clientHeaders: {},
    ...rest,
  };
}

describe('Anthropic provider', () => {
  it('when chat is prepared, then it POSTs the body to /v1/messages with x-api-key and the default version', async () => {
    const p = await anthropic.prepare(call(), deps);
    expect(p).toEqual({
      origin: 'https://api.anthropic.com',
      path: '/v1/messages',
      method: 'POST',
      headers: {
        'x-api-key': 'sk-ant-test',
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
      framing: 'sse',
    });
  });

  it('when chat streams, then the same endpoint gets the streaming body', async () => {
    const p = await anthropic.prepare(call({ stream: true, body: { ...body, stream: true } }), deps);
    expect(p.path).toBe('/v1/messages');
    expect(JSON.parse(p.body)).toMatchObject({ stream: true });
    expect(p.framing).toBe('sse');
  });

  it('when the base URL ends in /v1 or a slash, then the path is not doubled', async () => {
    for (const baseUrl of [
      'https://api.anthropic.com/v1',
      'https://api.anthropic.com/v1/',
      'https://api.anthropic.com/',
    ]) {
      expect((await anthropic.prepare(call({ baseUrl }), deps)).path).toBe('/v1/messages');
    }
    const proxied = await anthropic.prepare(call({ baseUrl: 'https://gw.example.com/anthropic' }), deps);
    expect(proxied.path).toBe('/anthropic/v1/messages');
  });

  it('when count_tokens and models are prepared, then they use their endpoints', async () => {
    const c = await anthropic.prepare(call({ operation: 'count_tokens' }), deps);
    expect([c.method, c.path]).toEqual(['POST', '/v1/messages/count_tokens']);
    const m = await anthropic.prepare(call({ operation: 'models', format: 'openai-chat' }), deps);
    expect([m.method, m.path, m.body]).toEqual(['GET', '/v1/models', '']);
    expect(m.headers['content-type']).toBeUndefined();
    expect(m.headers['x-api-key']).toBe('sk-ant-test');
  });

  it('when the client sent anthropic-version and anthropic-beta, then both are forwarded', async () => {
    const p = await anthropic.prepare(
      call({
        options: { anthropic_version: '2023-01-01' },
        clientHeaders: { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'prompt-caching-2024-07-31' },
      }),
      deps,
    );
    expect(p.headers['anthropic-version']).toBe('2023-06-01');
    expect(p.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
  });

  it('when the client sent no version, then the channel option is used, and no beta header appears', async () => {
    const p = await anthropic.prepare(call({ options: { anthropic_version: '2023-01-01' } }), deps);
    expect(p.headers['anthropic-version']).toBe('2023-01-01');
    expect('anthropic-beta' in p.headers).toBe(false);
  });

  it('when asked what it serves, then chat, count_tokens and models but not OpenAI-only operations', () => {
    const ch = call().channel;
    expect(anthropic.chatFormat(ch, 'claude-haiku-4-5')).toBe('anthropic-messages');
    expect(anthropic.passthrough('anthropic-messages')).toBe(true);
    expect(anthropic.supports('count_tokens', ch, 'm')).toBe(true);
    expect(anthropic.supports('models', ch, 'm')).toBe(true);
    expect(anthropic.supports('embeddings', ch, 'm')).toBe(false);
    expect(anthropic.supports('completions', ch, 'm')).toBe(false);
  });

  it('when an Anthropic SSE stream is unframed, then events keep their names', () => {
    const u = anthropic.createUnframer('anthropic-messages');
    const text =
      'event: message_start\ndata: {"type":"message_start"}\n\nevent: ping\ndata: {"type": "ping"}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n';
    expect(u.push(Buffer.from(text))).toEqual([
      { event: 'message_start', data: '{"type":"message_start"}' },
      { event: 'ping', data: '{"type": "ping"}' },
      { event: 'message_stop', data: '{"type":"message_stop"}' },
    ]);
  });

  it('when the account is an OAuth account (bearer scheme), then the token goes in Authorization and no x-api-key is sent', async () => {
    const base = call();
    for (const operation of ['chat', 'count_tokens', 'models'] as const) {
      const p = await anthropic.prepare(
        {
          ...base,
          operation,
          account: { ...base.account, kind: 'oauth', authScheme: 'bearer', apiKey: 'sk-ant-oat01-token' },
        },
        deps,
      );
      expect(p.headers.authorization, operation).toBe('Bearer sk-ant-oat01-token');
      expect('x-api-key' in p.headers, operation).toBe(false);
      expect(p.headers['anthropic-version'], operation).toBe('2023-06-01');
    }
  });
});
