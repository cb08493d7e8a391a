import { generateKeyPairSync, verify } from 'node:crypto';
import { API_KEY_ACCOUNT, defaultChannelRouting } from '@switchyard/core';
import { UpstreamError, type Channel, type ChannelAccount } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { ProviderDeps, UpstreamCall } from '../../provider-adapter.js';
import { createVertexProvider } from './provider.js';

const { publicKey, privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const serviceAccount = {
  type: 'service_account',
  project_id: 'my-project',
  private_key_id: 'kid-1',
  private_key: privateKey,
  client_email: 'gateway@my-project.iam.gserviceaccount.com',
  token_uri: 'https://oauth2.googleapis.com/token',
};
const KEY = JSON.stringify(serviceAccount);
const T0 = Date.parse('2025-01-15T10:30:00Z');

interface FormPost {
  url: string;
  form: Record<string, string>;
}

/** A token endpoint double: records each exchange and answers with `answer` (a fresh token per call by default). */
function tokenEndpoint(answer?: (n: number) => Promise<{ status: number; text: string }>) {
  const posts: FormPost[] = [];
  let now = T0;
  const deps: ProviderDeps = {
    now: () => now,
    postForm: (url, form) => {
      posts.push({ url, form });
      const n = posts.length;
      return answer !== undefined
        ? answer(n)
        : Promise.resolve({
            status: 200,
            text: JSON.stringify({ access_token: `ya29.token-${n}`, expires_in: 3599, token_type: 'Bearer' }),
          });
    },
  };
  return { deps, posts, setNow: (t: number) => (now = t) };
}

function channel(
  options: Record<string, string> = {},
  baseUrl = 'https://us-central1-aiplatform.googleapis.com',
): Channel {
  return {
    id: 8,
    name: 'vertex',
    provider: 'vertex',
    baseUrl,
    options,
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

const account = (id = 1, apiKey = KEY): ChannelAccount => ({
  id,
  channelId: 8,
  name: `a${id}`,
  enabled: true,
  apiKey,
  ...API_KEY_ACCOUNT,
});
const geminiBody = { contents: [{ role: 'user', parts: [{ text: 'Hello' }] }] };
const claudeBody = {
  model: 'claude-sonnet-4-5',
  max_tokens: 512,
  messages: [{ role: 'user', content: 'Hello' }],
};

function geminiCall(over: Partial<UpstreamCall> = {}): UpstreamCall {
  return {
    channel: channel(),
    account: account(),
    operation: 'chat',
    format: 'gemini',
    model: 'gemini-2.5-flash',
    stream: false,
    body: geminiBody,
    clientHeaders: {},
    ...over,
  };
}

function claudeCall(over: Partial<UpstreamCall> = {}): UpstreamCall {
  return geminiCall({
    format: 'anthropic-messages',
    model: 'claude-sonnet-4-5@20250929',
    body: claudeBody,
    ...over,
  });
}

async function rejection(p: Promise<unknown>): Promise<UpstreamError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpstreamError);
  return err as UpstreamError;
}

describe('Vertex provider: requests', () => {
  it('when a Gemini model is called, then generateContent on the Google publisher gets the body with a bearer token', async () => {
    const { deps } = tokenEndpoint();
    const p = await createVertexProvider().prepare(geminiCall({ body: { ...geminiBody, model: 'x' } }), deps);
    expect(p).toEqual({
      origin: 'https://us-central1-aiplatform.googleapis.com',
      path: '/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent',
      method: 'POST',
      headers: { authorization: 'Bearer ya29.token-1', 'content-type': 'application/json' },
      body: JSON.stringify(geminiBody),
      framing: 'sse',
    });
  });

  it('when a Gemini model streams, then streamGenerateContent?alt=sse is used', async () => {
    const { deps } = tokenEndpoint();
    const p = await createVertexProvider().prepare(geminiCall({ stream: true }), deps);
    expect(p.path).toBe(
      '/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
    );
  });

  it('when a Claude model is called, then rawPredict gets the Messages body without model and with Vertex’s version', async () => {
    const { deps } = tokenEndpoint();
    const p = await createVertexProvider().prepare(claudeCall(), deps);
    expect(p.path).toBe(
      '/v1/projects/my-project/locations/us-central1/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict',
    );
    expect(JSON.parse(p.body)).toEqual({
      anthropic_version: 'vertex-2023-10-16',
      max_tokens: 512,
      messages: [{ role: 'user', content: 'Hello' }],
    });
    expect(p.framing).toBe('sse');
  });

  it('when a Claude model streams with anthropic-beta, then streamRawPredict keeps stream and gets the beta header', async () => {
    const { deps } = tokenEndpoint();
    const p = await createVertexProvider().prepare(
      claudeCall({
        stream: true,
        body: { ...claudeBody, stream: true },
        clientHeaders: { 'anthropic-beta': 'context-1m-2025-08-07' },
      }),
      deps,
    );
    expect(p.path).toMatch(/\/publishers\/anthropic\/models\/claude-sonnet-4-5@20250929:streamRawPredict$/);
    expect(JSON.parse(p.body)).toMatchObject({ anthropic_version: 'vertex-2023-10-16', stream: true });
    expect('model' in JSON.parse(p.body)).toBe(false);
    expect(p.headers['anthropic-beta']).toBe('context-1m-2025-08-07');
  });

  it('when project, location and token URL are set on the channel, then they override the key and defaults', async () => {
    const { deps, posts } = tokenEndpoint();
    const ch = channel(
      { project_id: 'other-project', location: 'europe-west4', token_url: 'https://sts.example.test/token' },
      'https://europe-west4-aiplatform.googleapis.com/v1/',
    );
    const p = await createVertexProvider().prepare(geminiCall({ channel: ch }), deps);
    expect(p.origin).toBe('https://europe-west4-aiplatform.googleapis.com');
    expect(p.path).toBe(
      '/v1/projects/other-project/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent',
    );
    expect(posts.map((x) => x.url)).toEqual(['https://sts.example.test/token']);
  });

  it('when asked about formats and operations, then Claude is Anthropic, the rest Gemini, and only chat is served', () => {
    const vertex = createVertexProvider();
    expect(vertex.chatFormat(channel(), 'claude-opus-4-1@20250805')).toBe('anthropic-messages');
    expect(vertex.chatFormat(channel(), 'gemini-2.5-pro')).toBe('gemini');
    expect(vertex.passthrough('gemini')).toBe(true);
    expect(vertex.passthrough('anthropic-messages')).toBe(false);
    expect(vertex.supports('chat', channel(), 'gemini-2.5-pro')).toBe(true);
    expect(vertex.supports('models', channel(), 'gemini-2.5-pro')).toBe(false);
  });

  it('when neither the channel nor the key names a project, then the channel is misconfigured', async () => {
    const { deps, posts } = tokenEndpoint();
    const { project_id: _p, ...noProject } = serviceAccount;
    const err = await rejection(
      createVertexProvider().prepare(geminiCall({ account: account(1, JSON.stringify(noProject)) }), deps),
    );
    expect(err.code).toBe('upstream_misconfigured');
    expect(posts).toHaveLength(0);
  });
});

describe('Vertex provider: access tokens', () => {
  it('when a token is fetched, then the assertion is an RS256 JWT with the documented claims, verifiable with the public key', async () => {
    const { deps, posts } = tokenEndpoint();
    await createVertexProvider().prepare(geminiCall(), deps);
    expect(posts).toHaveLength(1);
    const { url, form } = posts[0]!;
    expect(url).toBe('https://oauth2.googleapis.com/token');
    expect(form.grant_type).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const [h, c, s] = form.assertion!.split('.');
    const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    expect(decode(h!)).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'kid-1' });
    const iat = Math.floor(T0 / 1000);
    expect(decode(c!)).toEqual({
      iss: 'gateway@my-project.iam.gserviceaccount.com',
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      aud: 'https://oauth2.googleapis.com/token',
      iat,
      exp: iat + 3600,
    });
    expect(verify('sha256', Buffer.from(`${h}.${c}`), publicKey, Buffer.from(s!, 'base64url'))).toBe(true);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    expect(verify('sha256', Buffer.from(`${h}.${c}`), other, Buffer.from(s!, 'base64url'))).toBe(false);
  });

  it('when the same account calls again before expiry, then the cached token is reused', async () => {
    const { deps, posts } = tokenEndpoint();
    const vertex = createVertexProvider();
    const a = await vertex.prepare(geminiCall(), deps);
    const b = await vertex.prepare(claudeCall(), deps);
    expect(posts).toHaveLength(1);
    expect(b.headers.authorization).toBe(a.headers.authorization);
  });

  it('when two requests need a token at once, then they share one exchange', async () => {
    let release: (v: { status: number; text: string }) => void = () => undefined;
    const gate = new Promise<{ status: number; text: string }>((r) => (release = r));
    const { deps, posts } = tokenEndpoint(() => gate);
    const vertex = createVertexProvider();
    const both = Promise.all([vertex.prepare(geminiCall(), deps), vertex.prepare(claudeCall(), deps)]);
    release({ status: 200, text: JSON.stringify({ access_token: 'ya29.shared', expires_in: 3600 }) });
    const [a, b] = await both;
    expect(posts).toHaveLength(1);
    expect(a.headers.authorization).toBe('Bearer ya29.shared');
    expect(b.headers.authorization).toBe('Bearer ya29.shared');
  });

  it('when the token is within 5 minutes of expiry, then a new one is fetched', async () => {
    const { deps, posts, setNow } = tokenEndpoint();
    const vertex = createVertexProvider();
    await vertex.prepare(geminiCall(), deps);
    const expiresAt = T0 + 3599 * 1000;
    setNow(expiresAt - 5 * 60 * 1000 - 1);
    expect((await vertex.prepare(geminiCall(), deps)).headers.authorization).toBe('Bearer ya29.token-1');
    setNow(expiresAt - 5 * 60 * 1000);
    expect((await vertex.prepare(geminiCall(), deps)).headers.authorization).toBe('Bearer ya29.token-2');
    expect(posts).toHaveLength(2);
    const claims = JSON.parse(
      Buffer.from(posts[1]!.form.assertion!.split('.')[1]!, 'base64url').toString(),
    ) as {
      iat: number;
    };
    expect(claims.iat).toBe(Math.floor((expiresAt - 5 * 60 * 1000) / 1000));
  });

  it('when accounts differ or an account’s key changes, then each gets its own token', async () => {
    const { deps, posts } = tokenEndpoint();
    const vertex = createVertexProvider();
    await vertex.prepare(geminiCall({ account: account(1) }), deps);
    await vertex.prepare(geminiCall({ account: account(2) }), deps);
    const rotated = JSON.stringify({ ...serviceAccount, private_key_id: 'kid-2' });
    const p = await vertex.prepare(geminiCall({ account: account(1, rotated) }), deps);
    expect(posts).toHaveLength(3);
    expect(p.headers.authorization).toBe('Bearer ya29.token-3');
  });

  it('when the token endpoint refuses, then a retryable 401 auth failure names its error code but not the key', async () => {
    const { deps, posts } = tokenEndpoint(() =>
      Promise.resolve({
        status: 400,
        text: JSON.stringify({ error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }),
      }),
    );
    const vertex = createVertexProvider();
    const err = await rejection(vertex.prepare(geminiCall(), deps));
    expect(err.retryable).toBe(true);
    expect(err.upstreamStatus).toBe(401);
    expect(err.code).toBe('upstream_auth_failed');
    expect(err.message).toContain('HTTP 400, invalid_grant');
    expect(err.message).not.toContain('PRIVATE KEY');
    expect(err.message).not.toContain(posts[0]!.form.assertion!);
    await rejection(vertex.prepare(geminiCall(), deps));
    expect(posts).toHaveLength(2);
  });

  it('when the token endpoint cannot be reached or answers without a token, then it is the same auth failure', async () => {
    const unreachable = tokenEndpoint(() => Promise.reject(new Error('ECONNREFUSED')));
    const e1 = await rejection(createVertexProvider().prepare(geminiCall(), unreachable.deps));
    expect([e1.code, e1.upstreamStatus, e1.retryable]).toEqual(['upstream_auth_failed', 401, true]);
    const empty = tokenEndpoint(() => Promise.resolve({ status: 200, text: '{"token_type":"Bearer"}' }));
    const e2 = await rejection(createVertexProvider().prepare(geminiCall(), empty.deps));
    expect(e2.code).toBe('upstream_auth_failed');
  });

  it('when the credential is not a service-account key, then the error says so without quoting it', async () => {
    const { deps, posts } = tokenEndpoint();
    const secret = 'not-json-but-secret-value';
    const err = await rejection(
      createVertexProvider().prepare(geminiCall({ account: account(1, secret) }), deps),
    );
    expect(err.code).toBe('upstream_credential_invalid');
    expect(err.message).not.toContain(secret);
    const badPem = JSON.stringify({
      ...serviceAccount,
      private_key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
    });
    const e2 = await rejection(
      createVertexProvider().prepare(geminiCall({ account: account(1, badPem) }), deps),
    );
    expect(e2.code).toBe('upstream_credential_invalid');
    expect(e2.message).not.toContain('AAAA');
    expect(posts).toHaveLength(0);
  });
});
