import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postJson } from '../test/http-helpers.js';
import { startMockUpstream, type MockUpstream } from './mock-upstream.js';
import { MOCK_ACCESS_TOKEN_PREFIX } from './oauth-server.js';

const REDIRECT_URI = 'http://localhost:8085/oauth2callback';
const CLIENT_ID = 'test-client';

let mock: MockUpstream;
const clock = { now: Date.parse('2026-03-01T00:00:00Z') };

beforeEach(async () => {
  clock.now = Date.parse('2026-03-01T00:00:00Z');
  mock = await startMockUpstream({ now: () => clock.now });
});

afterEach(async () => {
  await mock.close();
});

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(over: Record<string, string | null> = {}, challenge = pkce().challenge): string {
  const params: Record<string, string | null> = {
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    state: 'state-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope: 'user:inference',
    ...over,
  };
  const url = new URL(`${mock.url}/oauth/authorize`);
  for (const [k, v] of Object.entries(params)) if (v !== null) url.searchParams.set(k, v);
  return url.toString();
}

/** Runs the browser leg: authorize, read the code from the 302's Location. */
async function authorize(challenge: string): Promise<string> {
  const res = await fetch(authorizeUrl({}, challenge), { redirect: 'manual' });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location') ?? '');
  return location.searchParams.get('code') ?? '';
}

function postForm(fields: Record<string, string>): Promise<Response> {
  return fetch(`${mock.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

function postToken(fields: Record<string, string>): Promise<Response> {
  return postJson(`${mock.url}/oauth/token`, fields);
}

interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: string;
  scope: string;
}

async function signIn(): Promise<Tokens> {
  const { verifier, challenge } = pkce();
  const code = await authorize(challenge);
  const res = await postToken({
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: REDIRECT_URI,
    client_id: CLIENT_ID,
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Tokens;
}

function refresh(refreshToken: string): Promise<Response> {
  return postForm({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: CLIENT_ID });
}

describe('GET /oauth/authorize', () => {
  it('when every field is present with S256, then it redirects back to redirect_uri with a code and the state', async () => {
    const res = await fetch(authorizeUrl(), { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(location.searchParams.get('state')).toBe('state-1');
    expect(location.searchParams.get('code')).toMatch(/^mock-code-/);
  });

  it('when a field is missing or the method is not S256, then it answers 400 without redirecting', async () => {
    const cases: Record<string, string | null>[] = [
      { state: null },
      { code_challenge: null },
      { scope: null },
      { code_challenge_method: 'plain' },
      { response_type: 'token' },
    ];
    for (const over of cases) {
      const res = await fetch(authorizeUrl(over), { redirect: 'manual' });
      expect(res.status, JSON.stringify(over)).toBe(400);
      expect(res.headers.get('location')).toBeNull();
    }
  });
});

describe('POST /oauth/token, authorization_code', () => {
  it('when the verifier matches, then JSON and form bodies both get a Bearer token set with expires_in', async () => {
    const tokens = await signIn();
    expect(tokens).toEqual({
      access_token: expect.stringMatching(new RegExp(`^${MOCK_ACCESS_TOKEN_PREFIX}`)),
      refresh_token: expect.any(String),
      expires_in: 3600,
      token_type: 'Bearer',
      scope: 'user:inference',
    });
    const { verifier, challenge } = pkce();
    const code = await authorize(challenge);
    const form = await postForm({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: REDIRECT_URI,
      client_id: CLIENT_ID,
    });
    expect(form.status).toBe(200);
    expect(mock.oauth.isValidAccessToken(((await form.json()) as Tokens).access_token)).toBe(true);
  });

  it('when the verifier, redirect_uri or client_id is wrong, or the code is reused, then 400 invalid_grant', async () => {
    const cases: ((verifier: string) => Record<string, string>)[] = [
      () => ({ code_verifier: pkce().verifier }),
      () => ({ redirect_uri: 'http://localhost:9999/elsewhere' }),
      () => ({ client_id: 'other-client' }),
    ];
    for (const change of cases) {
      const { verifier, challenge } = pkce();
      const code = await authorize(challenge);
      const fields = {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: REDIRECT_URI,
        client_id: CLIENT_ID,
      };
      const wrong = await postToken({ ...fields, ...change(verifier) });
      expect(wrong.status).toBe(400);
      expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' });
      // Single use even after a failed exchange.
      const retried = await postToken(fields);
      expect(retried.status).toBe(400);
    }
  });

  it('when the grant type is unknown, then 400 unsupported_grant_type is recorded', async () => {
    const res = await postForm({ grant_type: 'password' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'unsupported_grant_type' });
    expect(mock.oauth.tokenRequests.at(-1)).toMatchObject({ grantType: 'password', status: 400 });
  });
});

describe('POST /oauth/token, refresh_token', () => {
  it('when a refresh token is used, then it rotates and a second use answers 400 invalid_grant', async () => {
    const first = await signIn();
    const res = await refresh(first.refresh_token);
    expect(res.status).toBe(200);
    const second = (await res.json()) as Tokens;
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);

    const reused = await refresh(first.refresh_token);
    expect(reused.status).toBe(400);
    expect(await reused.json()).toMatchObject({ error: 'invalid_grant' });
    const lineage = mock.oauth.lineageOf(first.refresh_token);
    expect(lineage).toBeDefined();
    expect(mock.oauth.lineageOf(second.refresh_token)).toBe(lineage);
    expect(mock.oauth.tokenRequests.map((r) => [r.grantType, r.refreshToken, r.status])).toEqual([
      ['authorization_code', null, 200],
      ['refresh_token', first.refresh_token, 200],
      ['refresh_token', first.refresh_token, 400],
    ]);
  });

  it('when failRefresh is set or the token is revoked, then refresh answers 400 invalid_grant', async () => {
    const tokens = await signIn();
    mock.oauth.failRefresh = true;
    const failed = await refresh(tokens.refresh_token);
    expect(failed.status).toBe(400);
    expect(await failed.json()).toMatchObject({ error: 'invalid_grant' });
    mock.oauth.failRefresh = false;
    mock.oauth.revoke(tokens.refresh_token);
    expect((await refresh(tokens.refresh_token)).status).toBe(400);
  });

  it('when refreshes of one lineage overlap, then the per-lineage peak shows it; other lineages do not add to it', async () => {
    mock.oauth.tokenDelayMs = 100;
    const a = mock.oauth.issueTokens({ clientId: CLIENT_ID });
    const b = mock.oauth.issueTokens({ clientId: CLIENT_ID });
    await Promise.all([refresh(a.refresh_token), refresh(b.refresh_token)]);
    expect(mock.oauth.maxConcurrentRefreshesPerLineage).toBe(1);
    expect(mock.oauth.maxConcurrentRefreshes).toBe(2);

    const c = mock.oauth.issueTokens({ clientId: CLIENT_ID });
    const [one, two] = await Promise.all([refresh(c.refresh_token), refresh(c.refresh_token)]);
    expect([one?.status, two?.status].sort()).toEqual([200, 400]);
    expect(mock.oauth.maxConcurrentRefreshesOf(c.lineage)).toBe(2);
    expect(mock.oauth.maxConcurrentRefreshesPerLineage).toBe(2);
  });
});

describe('bearer access tokens on the provider routes', () => {
  const anthropicBody = {
    model: 'claude-sonnet-4-5',
    max_tokens: 16,
    messages: [{ role: 'user', content: 'hi' }],
  };
  const geminiBody = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };

  it('when the access token is live, then /v1/messages and Gemini accept it; once it expires, both answer 401 in their shapes', async () => {
    mock.oauth.expiresInSeconds = 60;
    const { access_token: token } = await signIn();
    const auth = { authorization: `Bearer ${token}` };
    const gemini = `${mock.url}/v1beta/models/gemini-2.5-flash:generateContent`;
    expect((await postJson(`${mock.url}/v1/messages`, anthropicBody, auth)).status).toBe(200);
    expect((await postJson(gemini, geminiBody, auth)).status).toBe(200);

    clock.now += 61_000;
    const anthropic = await postJson(`${mock.url}/v1/messages`, anthropicBody, auth);
    expect(anthropic.status).toBe(401);
    expect(await anthropic.json()).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: expect.any(String) },
    });
    const google = await postJson(gemini, geminiBody, auth);
    expect(google.status).toBe(401);
    expect(await google.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
  });

  it('when a bearer token was never issued, then it is refused, while an API key still works as before', async () => {
    const forged = { authorization: `Bearer ${MOCK_ACCESS_TOKEN_PREFIX}forged` };
    expect((await postJson(`${mock.url}/v1/messages`, anthropicBody, forged)).status).toBe(401);
    const keyed = await postJson(`${mock.url}/v1/messages`, anthropicBody, { 'x-api-key': 'sk-ant-any' });
    expect(keyed.status).toBe(200);
    const chat = await postJson(
      `${mock.url}/v1/chat/completions`,
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] },
      { authorization: 'Bearer sk-openai-any' },
    );
    expect(chat.status).toBe(200);
  });
});
