import { describe, expect, it } from 'vitest';
import { API_KEY_ACCOUNT, defaultChannelRouting, type Channel } from '@switchyard/core';
import type { ProviderDeps, UpstreamCall } from '../../provider-adapter.js';
import { createGeminiCodeAssistProvider } from './provider.js';

function call(
  over: { options?: Record<string, string>; stream?: boolean; accountId?: number } = {},
): UpstreamCall {
  const channel: Channel = {
    id: 3,
    name: 'code-assist',
    provider: 'gemini-code-assist',
    baseUrl: 'https://cloudcode-pa.googleapis.com',
    options: over.options ?? {},
    models: ['gemini-2.5-pro'],
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
    account: {
      id: over.accountId ?? 1,
      channelId: 3,
      name: 'a',
      enabled: true,
      apiKey: 'ya29.access-token',
      ...API_KEY_ACCOUNT,
      kind: 'oauth',
      authScheme: 'bearer',
    },
    operation: 'chat',
    format: 'gemini',
    model: 'models/gemini-2.5-pro',
    stream: over.stream ?? false,
    body: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }], model: 'stray' },
    clientHeaders: {},
  };
}

function deps(answer: { status: number; text: string }, seen: unknown[] = []): ProviderDeps {
  return {
    now: () => 0,
    postForm: async () => ({ status: 500, text: '' }),
    postJson: async (url, body, headers) => {
      seen.push({ url, body, headers });
      return answer;
    },
  };
}

describe('gemini-code-assist provider', () => {
  it("when the channel names a project, then the Gemini body goes inside {model, project, request} with the account's bearer token", async () => {
    const p = createGeminiCodeAssistProvider();
    const prepared = await p.prepare(
      call({ options: { project_id: 'proj-1' } }),
      deps({ status: 500, text: '' }),
    );
    expect(prepared).toMatchObject({
      origin: 'https://cloudcode-pa.googleapis.com',
      path: '/v1internal:generateContent',
      method: 'POST',
      headers: { authorization: 'Bearer ya29.access-token', 'content-type': 'application/json' },
    });
    expect(JSON.parse(prepared.body)).toEqual({
      model: 'gemini-2.5-pro',
      project: 'proj-1',
      request: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] },
    });
    const streamed = await p.prepare(
      call({ options: { project_id: 'proj-1' }, stream: true }),
      deps({ status: 500, text: '' }),
    );
    expect(streamed.path).toBe('/v1internal:streamGenerateContent?alt=sse');
  });

  it("when no project is configured, then each account's project is asked of loadCodeAssist once and kept", async () => {
    const p = createGeminiCodeAssistProvider();
    const seen: unknown[] = [];
    const d = deps({ status: 200, text: JSON.stringify({ cloudaicompanionProject: 'managed-42' }) }, seen);
    for (let i = 0; i < 3; i++) {
      expect(JSON.parse((await p.prepare(call(), d)).body).project).toBe('managed-42');
    }
    expect(seen).toEqual([
      {
        url: 'https://cloudcode-pa.googleapis.com/v1internal:loadCodeAssist',
        body: {
          metadata: { ideType: 'IDE_UNSPECIFIED', platform: 'PLATFORM_UNSPECIFIED', pluginType: 'GEMINI' },
        },
        headers: { authorization: 'Bearer ya29.access-token' },
      },
    ]);
    await p.prepare(call({ accountId: 2 }), d);
    expect(seen).toHaveLength(2);
  });

  it('when loadCodeAssist names no project, then preparing fails with a retryable error saying what to set, and the next request asks again', async () => {
    const p = createGeminiCodeAssistProvider();
    const seen: unknown[] = [];
    const d = deps({ status: 200, text: JSON.stringify({ currentTier: { id: 'free-tier' } }) }, seen);
    await expect(p.prepare(call(), d)).rejects.toMatchObject({
      retryable: true,
      code: 'upstream_prepare_failed',
    });
    await expect(p.prepare(call(), d)).rejects.toThrow(/project_id/);
    expect(seen).toHaveLength(2);
  });

  it('when answers come wrapped in {"response": ...}, then the whole body and every stream event are unwrapped', () => {
    const p = createGeminiCodeAssistProvider();
    const inner = { candidates: [{ content: { parts: [{ text: 'x' }] } }] };
    expect(p.unwrapResponse?.({ response: inner, traceId: 't' })).toEqual(inner);
    const u = p.createUnframer('gemini');
    const events = u.push(Buffer.from(`data: ${JSON.stringify({ response: inner, traceId: 't' })}\r\n\r\n`));
    expect(events.map((e) => JSON.parse(e.data) as unknown)).toEqual([inner]);
  });
});
