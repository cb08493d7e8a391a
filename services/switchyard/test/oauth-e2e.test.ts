import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAUTH_PROFILES } from '@switchyard/core';
import { MOCK_CODE_ASSIST_PROJECT, type MockUpstream } from '@switchyard/mock-upstream';
import { startMocks, startTestGateway, type KeyView, type TestGateway } from './harness.js';

/**
 * An OAuth account end to end on the all-in-one gateway: signed in through the control plane's PKCE
 * flow against the mock OAuth server, then used by the relay with its profile's decorations (bearer
 * token, extra headers, system-prompt prefix); a refresh reaches the relay through the config stream.
 */
let t: TestGateway;
let mock: MockUpstream;
let key: KeyView;
let accountId: number;
let client: Anthropic;
const PROFILE = OAUTH_PROFILES['anthropic-claude-code']!;

beforeAll(async () => {
  [mock] = (await startMocks(1)) as [MockUpstream];
  // Refreshes are driven by the test (the admin route), not the timer.
  t = await startTestGateway({
    SWITCHYARD_LOG_LEVEL: 'info',
    SWITCHYARD_OAUTH_REFRESH_INTERVAL_MS: '3600000',
  });
  const ch = await t.admin<{ id: number }>('POST', '/channels', {
    name: 'claude-oauth',
    provider: 'anthropic',
    base_url: mock.url,
    models: ['claude-*'],
    accounts: [],
  });
  expect(ch.status, JSON.stringify(ch.body)).toBe(201);
  const started = await t.admin<{ authorization_url: string }>('POST', '/accounts/oauth/start', {
    profile: 'anthropic-claude-code',
    channel_id: ch.body.id,
    name: 'max-account',
    authorize_url: `${mock.url}/oauth/authorize`,
    token_url: `${mock.url}/oauth/token`,
  });
  expect(started.status).toBe(200);
  const redirect = await fetch(started.body.authorization_url, { redirect: 'manual' });
  expect(redirect.status).toBe(302);
  const done = await t.admin<{ id: number; kind: string }>('POST', '/accounts/oauth/callback', {
    callback_url: redirect.headers.get('location'),
  });
  expect(done.status, JSON.stringify(done.body)).toBe(201);
  expect(done.body.kind).toBe('oauth');
  accountId = done.body.id;
  const k = await t.admin<KeyView>('POST', '/keys', { name: 'oauth-e2e' });
  key = k.body;
  client = new Anthropic({ apiKey: key.key, baseURL: t.gw.url, maxRetries: 0 });
});

afterAll(async () => {
  await t?.stop();
  await mock?.close();
});

function lastMessagesRequest() {
  const r = mock.requests.filter((x) => x.path === '/v1/messages').at(-1);
  if (r === undefined) throw new Error('no /v1/messages request reached the mock');
  return r;
}

describe('OAuth accounts through the relay', () => {
  it('when a client calls a model served by an OAuth account, then the relay sends its bearer token with the profile headers and system prefix', async () => {
    const res = await client.messages.create(
      {
        model: 'claude-sonnet-4-5',
        max_tokens: 64,
        system: 'You are terse.',
        messages: [{ role: 'user', content: 'hello over oauth' }],
      },
      { headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } },
    );
    expect(res.content[0]?.type).toBe('text');
    const up = lastMessagesRequest();
    const bearer = String(up.headers.authorization);
    expect(bearer.startsWith('Bearer ')).toBe(true);
    expect(mock.oauth.isValidAccessToken(bearer.slice(7))).toBe(true);
    expect(up.headers['x-api-key']).toBeUndefined();
    const beta = String(up.headers['anthropic-beta']).split(',');
    expect(beta).toEqual(expect.arrayContaining(['prompt-caching-2024-07-31', 'oauth-2025-04-20']));
    const system = (up.body as { system: Array<{ type: string; text: string }> }).system;
    expect(system[0]).toEqual({ type: 'text', text: PROFILE.systemPromptPrefix });
    expect(system.map((b) => b.text)).toContain('You are terse.');
    // Tokens never reach logs.
    expect(t.rawLog()).not.toContain(bearer.slice(7));
  });

  it('when the token is refreshed, then the relay uses the new one at once and the old one is never sent again', async () => {
    const before = String(lastMessagesRequest().headers.authorization);
    const refreshed = await t.admin('POST', `/accounts/${accountId}/oauth/refresh`);
    expect(refreshed.status).toBe(200);
    await client.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'after refresh' }],
    });
    const after = String(lastMessagesRequest().headers.authorization);
    expect(after).not.toBe(before);
    expect(mock.oauth.isValidAccessToken(after.slice(7))).toBe(true);
  });

  it('when a refresh fails with invalid_grant, then the account is disabled with the reason and the model has no upstream', async () => {
    mock.oauth.failRefresh = true;
    const refreshed = await t.admin('POST', `/accounts/${accountId}/oauth/refresh`);
    expect(refreshed.status).toBe(502);
    const account = await t.admin<{ enabled: boolean; disabled_reason: string }>(
      'GET',
      `/accounts/${accountId}`,
    );
    expect(account.body.enabled).toBe(false);
    expect(account.body.disabled_reason).toMatch(/invalid_grant/);
    await expect(
      client.messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toMatchObject({ status: 503 });
  });
});

describe('Gemini Code Assist accounts', () => {
  let caKey: KeyView;

  /** A Code Assist channel serving `model`, with one Google account signed in through the flow. */
  async function codeAssistChannel(model: string, options?: Record<string, string>) {
    const ch = await t.admin<{ id: number }>('POST', '/channels', {
      name: `code-assist-${model}`,
      provider: 'gemini-code-assist',
      base_url: mock.url,
      models: [model],
      ...(options === undefined ? {} : { options }),
    });
    expect(ch.status, JSON.stringify(ch.body)).toBe(201);
    const started = await t.admin<{ authorization_url: string }>('POST', '/accounts/oauth/start', {
      profile: 'google-gemini-cli',
      channel_id: ch.body.id,
      client_secret: 'mock-installed-app-secret',
      authorize_url: `${mock.url}/oauth/authorize`,
      token_url: `${mock.url}/oauth/token`,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const redirect = await fetch(started.body.authorization_url, { redirect: 'manual' });
    const done = await t.admin('POST', '/accounts/oauth/callback', {
      callback_url: redirect.headers.get('location'),
    });
    expect(done.status, JSON.stringify(done.body)).toBe(201);
  }

  const generate = (model: string, stream: boolean) =>
    fetch(
      `${t.gw.url}/v1beta/models/${model}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
      {
        method: 'POST',
        headers: { 'x-goog-api-key': caKey.key, 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hello code assist' }] }] }),
      },
    );

  beforeAll(async () => {
    mock.oauth.failRefresh = false;
    caKey = (await t.admin<KeyView>('POST', '/keys', { name: 'code-assist' })).body;
  });

  it("when a Gemini client calls a Code Assist account, then the request goes inside Code Assist's envelope to the account's own project, and the answer comes back unwrapped", async () => {
    await codeAssistChannel('gemini-2.5-flash');
    mock.reset();
    const res = await generate('gemini-2.5-flash', false);
    expect(res.status).toBe(200);
    const answer = (await res.json()) as {
      candidates: Array<{ content: { parts: Array<{ text: string }> } }>;
    };
    expect(answer.candidates[0]?.content.parts[0]?.text).toBeTruthy();
    expect(await generate('gemini-2.5-flash', false).then((r) => r.status)).toBe(200);
    const calls = mock.requests.filter((r) => r.path.startsWith('/v1internal:'));
    expect(calls.map((r) => r.path)).toEqual([
      '/v1internal:loadCodeAssist',
      '/v1internal:generateContent',
      '/v1internal:generateContent',
    ]);
    const sent = calls[1]!;
    expect(mock.oauth.isValidAccessToken(String(sent.headers.authorization).slice(7))).toBe(true);
    expect(sent.body).toMatchObject({
      model: 'gemini-2.5-flash',
      project: MOCK_CODE_ASSIST_PROJECT,
      request: { contents: [{ role: 'user', parts: [{ text: 'hello code assist' }] }] },
    });
  });

  it('when the client streams, then the Code Assist stream is relayed as plain Gemini chunks', async () => {
    mock.reset();
    const res = await generate('gemini-2.5-flash', true);
    expect(res.status).toBe(200);
    const chunks = (await res.text())
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(c).not.toHaveProperty('response');
      expect(c).toHaveProperty('candidates');
    }
    expect(mock.requests.some((r) => r.path === '/v1internal:streamGenerateContent')).toBe(true);
  });

  it('when the channel names its project, then that project is used and loadCodeAssist is never asked', async () => {
    await codeAssistChannel('gemini-2.5-pro', { project_id: 'team-billing-project' });
    mock.reset();
    expect((await generate('gemini-2.5-pro', false)).status).toBe(200);
    const calls = mock.requests.filter((r) => r.path.startsWith('/v1internal:'));
    expect(calls.map((r) => r.path)).toEqual(['/v1internal:generateContent']);
    expect(calls[0]!.body).toMatchObject({ project: 'team-billing-project' });
  });
});
