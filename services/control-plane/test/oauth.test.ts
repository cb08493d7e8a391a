import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChannelAccount } from '@switchyard/core';
import { startMockUpstream, type MockUpstream } from '@switchyard/mock-upstream';
import { type AdminHarness, obj, startAdminHarness } from './admin-harness.js';
import { checkSchema } from './json-schema-check.js';
import { componentSchema, OPENAPI as doc } from './openapi-document.js';

interface StartView {
  authorization_url: string;
  state: string;
  expires_at: string;
}

interface AccountView {
  id: number;
  channel_id: number;
  kind: string;
  enabled: boolean;
  oauth_profile: string | null;
  token_expires_at: string | null;
  disabled_reason: string | null;
  disabled_by: string | null;
  proxy_id: number | null;
}

let mock: MockUpstream;
let h: AdminHarness;
let anthropicChannel: number;
let geminiChannel: number;
let openaiChannel: number;

beforeAll(async () => {
  mock = await startMockUpstream();
});
afterAll(async () => {
  await mock.close();
});

beforeEach(async () => {
  h = await startAdminHarness();
  mock.oauth.expiresInSeconds = 3600;
  mock.oauth.failRefresh = false;
  mock.reset();
  const create = async (provider: string, models: string[]) => {
    const res = await h.call('POST', '/channels', {
      json: {
        name: provider,
        provider,
        base_url: mock.url,
        models,
        accounts: [{ api_key: 'sk-upstream-key-AAAA' }],
      },
    });
    expect(res.status).toBe(201);
    return obj(res.body).id as number;
  };
  anthropicChannel = await create('anthropic', ['claude-*']);
  geminiChannel = await create('gemini', ['gemini-*']);
  openaiChannel = await create('openai', ['gpt-4o']);
});
afterEach(async () => {
  await h.close();
});

/** The mock's own endpoints instead of the profile's real ones. */
function mockEndpoints(): Record<string, string> {
  return { authorize_url: `${mock.url}/oauth/authorize`, token_url: `${mock.url}/oauth/token` };
}

async function start(over: Record<string, unknown> = {}): Promise<StartView> {
  const res = await h.call('POST', '/accounts/oauth/start', {
    json: { profile: 'anthropic-claude-code', channel_id: anthropicChannel, ...mockEndpoints(), ...over },
  });
  expect(res.status, res.text).toBe(200);
  return res.body as StartView;
}

/** The browser leg: the mock "signs in" at once and redirects; the Location is what the admin pastes. */
async function authorize(started: StartView): Promise<URL> {
  const res = await fetch(started.authorization_url, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location') ?? '');
}

async function signIn(over: Record<string, unknown> = {}): Promise<AccountView> {
  const location = await authorize(await start(over));
  const res = await h.call('POST', '/accounts/oauth/callback', {
    json: { callback_url: location.toString() },
  });
  expect(res.status, res.text).toBe(201);
  return res.body as AccountView;
}

function snapshotAccount(id: number): ChannelAccount {
  const account = h.controlPlane.configSource
    .current()
    .channels.flatMap((c) => c.accounts)
    .find((a) => a.id === id);
  if (account === undefined) throw new Error(`account ${id} is not in the snapshot`);
  return account;
}

/** Every token the mock issued in this test's token responses, read back from its records. */
function issuedSecrets(): string[] {
  const secrets: string[] = [];
  for (const r of mock.requests) {
    const body = r.body as Record<string, unknown> | null;
    if (r.path !== '/oauth/token' || body === null) continue;
    for (const key of ['code', 'code_verifier', 'refresh_token']) {
      if (typeof body[key] === 'string') secrets.push(body[key]);
    }
  }
  return secrets;
}

function refreshRequests() {
  return mock.oauth.tokenRequests.filter((r) => r.grantType === 'refresh_token');
}

describe('POST /accounts/oauth/start', () => {
  it('when the profile and channel match, then it answers an authorization URL with PKCE S256, a long random state and a 10-minute expiry', async () => {
    const started = await start();
    expect(checkSchema(started, componentSchema('OAuthStartResult'), doc)).toEqual([]);
    const url = new URL(started.authorization_url);
    expect(`${url.origin}${url.pathname}`).toBe(`${mock.url}/oauth/authorize`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      code: 'true',
      response_type: 'code',
      client_id: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
      redirect_uri: 'https://console.anthropic.com/oauth/code/callback',
      scope: 'org:create_api_key user:profile user:inference',
      state: started.state,
      code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      code_challenge_method: 'S256',
    });
    // 32 random bytes are 43 base64url characters.
    expect(started.state).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(Date.parse(started.expires_at) - h.clock.now).toBe(10 * 60_000);
    const [row] = await h.db.selectFrom('oauth_states').selectAll().execute();
    expect(row?.state).toBe(started.state);
    // The verifier is stored encrypted, and the challenge in the URL is not the verifier.
    const verifier = h.secretBox.decrypt(row?.code_verifier ?? '');
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(row?.code_verifier).not.toContain(verifier);
    expect(url.searchParams.get('code_challenge')).not.toBe(verifier);
  });

  it("when the channel's provider is not the profile's, or the channel or profile does not exist, then 400 naming the field", async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ channel_id: openaiChannel }, 'provider_mismatch', 'channel_id'],
      [{ profile: 'google-gemini-cli', channel_id: anthropicChannel }, 'provider_mismatch', 'channel_id'],
      [{ channel_id: 9999 }, 'channel_not_found', 'channel_id'],
      [{ profile: 'nobody' }, 'unknown_oauth_profile', 'profile'],
    ];
    for (const [over, code, param] of cases) {
      const res = await h.call('POST', '/accounts/oauth/start', {
        json: { profile: 'anthropic-claude-code', channel_id: anthropicChannel, ...over },
      });
      expect(res.status, JSON.stringify(over)).toBe(400);
      expect(obj(res.body).error).toMatchObject({ code, param });
    }
    expect(await h.db.selectFrom('oauth_states').selectAll().execute()).toEqual([]);
  });

  it('when an override URL points at a metadata or link-local address, then 400 names it', async () => {
    for (const param of ['authorize_url', 'token_url', 'redirect_uri']) {
      const res = await h.call('POST', '/accounts/oauth/start', {
        json: {
          profile: 'anthropic-claude-code',
          channel_id: anthropicChannel,
          [param]: 'http://169.254.169.254/latest/meta-data',
        },
      });
      expect(res.status, param).toBe(400);
      expect(obj(res.body).error).toMatchObject({ param });
    }
  });
});

describe('POST /accounts/oauth/callback', () => {
  it('when the pasted callback URL carries a valid code, then an oauth account exists whose tokens appear in no response or log, and the snapshot presents the access token', async () => {
    const account = await signIn({ name: 'claude-max' });
    expect(account).toMatchObject({
      channel_id: anthropicChannel,
      kind: 'oauth',
      enabled: true,
      oauth_profile: 'anthropic-claude-code',
      disabled_reason: null,
    });
    expect(checkSchema(account, componentSchema('AccountDetail'), doc)).toEqual([]);
    expect(Date.parse(account.token_expires_at ?? '')).toBe(h.clock.now + 3600_000);

    const stored = await h.db
      .selectFrom('accounts')
      .selectAll()
      .where('id', '=', account.id)
      .executeTakeFirstOrThrow();
    const tokens = JSON.parse(h.secretBox.decrypt(stored.credential)) as {
      access_token: string;
      refresh_token: string;
    };
    expect(mock.oauth.isValidAccessToken(tokens.access_token)).toBe(true);
    expect(stored.credential).not.toContain(tokens.access_token);
    expect(JSON.parse(stored.oauth_config ?? '{}')).toMatchObject({ token_url: `${mock.url}/oauth/token` });

    const snapshot = snapshotAccount(account.id);
    expect(snapshot).toMatchObject({
      apiKey: tokens.access_token,
      kind: 'oauth',
      authScheme: 'bearer',
      extraHeaders: { 'anthropic-beta': 'oauth-2025-04-20' },
      enabled: true,
    });

    // Anthropic's token endpoint takes JSON, with the state echoed.
    const exchange = mock.requests.find((r) => r.path === '/oauth/token');
    expect(exchange?.headers['content-type']).toContain('application/json');
    expect(exchange?.body).toMatchObject({ grant_type: 'authorization_code', state: expect.any(String) });

    const views = [
      (await h.call('GET', `/accounts/${account.id}`)).text,
      (await h.call('GET', `/channels/${anthropicChannel}`)).text,
      (await h.call('GET', `/channels/${anthropicChannel}/accounts`)).text,
    ];
    const secrets = [tokens.access_token, tokens.refresh_token, ...issuedSecrets()];
    for (const secret of secrets) {
      for (const text of [...views, JSON.stringify(account), h.logText()]) expect(text).not.toContain(secret);
    }
  });

  it("when the code is pasted as Anthropic's code#state (with or without state), then it is accepted", async () => {
    const first = await authorize(await start());
    const code = `${first.searchParams.get('code') ?? ''}#${first.searchParams.get('state') ?? ''}`;
    expect((await h.call('POST', '/accounts/oauth/callback', { json: { code } })).status).toBe(201);
    const second = await authorize(await start());
    const res = await h.call('POST', '/accounts/oauth/callback', {
      json: { code: second.searchParams.get('code'), state: second.searchParams.get('state') },
    });
    expect(res.status).toBe(201);
  });

  it('when the Google profile signs in a Gemini account, then its token endpoint gets a form and the snapshot presents a bearer token', async () => {
    const account = await signIn({ profile: 'google-gemini-cli', channel_id: geminiChannel });
    const exchange = mock.requests.find((r) => r.path === '/oauth/token');
    expect(exchange?.headers['content-type']).toContain('application/x-www-form-urlencoded');
    expect(exchange?.body).not.toHaveProperty('state');
    expect(snapshotAccount(account.id)).toMatchObject({ kind: 'oauth', authScheme: 'bearer' });
    expect(mock.oauth.isValidAccessToken(snapshotAccount(account.id).apiKey)).toBe(true);
  });

  it('when the start gives a client secret, then both the code exchange and refreshes send it, it is stored sealed, and no response or log shows it', async () => {
    const secret = 'GOCSPX-test-client-secret-0123';
    const startRes = await h.call('POST', '/accounts/oauth/start', {
      json: {
        profile: 'google-gemini-cli',
        channel_id: geminiChannel,
        client_secret: secret,
        ...mockEndpoints(),
      },
    });
    expect(startRes.status, startRes.text).toBe(200);
    expect(startRes.text).not.toContain(secret);
    const location = await authorize(startRes.body as StartView);
    const done = await h.call('POST', '/accounts/oauth/callback', {
      json: { callback_url: location.toString() },
    });
    expect(done.status, done.text).toBe(201);
    expect(done.text).not.toContain(secret);
    const id = (done.body as AccountView).id;
    const refreshed = await h.call('POST', `/accounts/${id}/oauth/refresh`);
    expect(refreshed.status, refreshed.text).toBe(200);
    const tokenBodies = mock.requests
      .filter((r) => r.path === '/oauth/token')
      .map((r) => r.body as Record<string, unknown>);
    expect(tokenBodies.map((b) => b.grant_type)).toEqual(['authorization_code', 'refresh_token']);
    for (const b of tokenBodies) expect(b.client_secret).toBe(secret);
    const row = await h.db
      .selectFrom('accounts')
      .select(['oauth_config'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.oauth_config).not.toContain(secret);
    expect(JSON.stringify(h.logs)).not.toContain(secret);
    expect((await h.call('GET', `/accounts/${id}`)).text).not.toContain(secret);
  });

  it('when the state is unknown, reused or expired, then 400 invalid_oauth_state and no account is created', async () => {
    const unknown = await h.call('POST', '/accounts/oauth/callback', {
      json: { state: 'x'.repeat(43), code: 'c' },
    });
    expect(unknown.status).toBe(400);
    expect(obj(unknown.body).error).toMatchObject({ code: 'invalid_oauth_state', param: 'state' });

    const location = await authorize(await start());
    expect(
      (await h.call('POST', '/accounts/oauth/callback', { json: { callback_url: location.href } })).status,
    ).toBe(201);
    const reused = await h.call('POST', '/accounts/oauth/callback', {
      json: { callback_url: location.href },
    });
    expect(reused.status).toBe(400);
    expect(obj(reused.body).error).toMatchObject({ code: 'invalid_oauth_state' });

    const late = await authorize(await start());
    h.clock.now += 10 * 60_000 + 1;
    const expired = await h.call('POST', '/accounts/oauth/callback', { json: { callback_url: late.href } });
    expect(expired.status).toBe(400);
    expect(obj(expired.body).error).toMatchObject({ code: 'invalid_oauth_state' });
    const oauthAccounts = await h.db
      .selectFrom('accounts')
      .select('id')
      .where('kind', '=', 'oauth')
      .execute();
    expect(oauthAccounts).toHaveLength(1);
  });

  it('when the token endpoint refuses the code, then 502 carries its error code without secrets, and the state is spent', async () => {
    const started = await start();
    const location = await authorize(started);
    const res = await h.call('POST', '/accounts/oauth/callback', {
      json: { state: started.state, code: 'mock-code-made-up-by-the-admin' },
    });
    expect(res.status).toBe(502);
    expect(obj(res.body).error).toMatchObject({ code: 'invalid_grant', type: 'api_error' });
    for (const secret of issuedSecrets()) expect(res.text).not.toContain(secret);
    // The real code no longer helps: the state was used by the failed attempt.
    const retry = await h.call('POST', '/accounts/oauth/callback', { json: { callback_url: location.href } });
    expect(retry.status).toBe(400);
  });

  it('when the redirect URL reports that the user refused, then 400 says so', async () => {
    const started = await start();
    const res = await h.call('POST', '/accounts/oauth/callback', {
      json: {
        callback_url: `https://console.anthropic.com/oauth/code/callback?error=access_denied&state=${started.state}`,
      },
    });
    expect(res.status).toBe(400);
    expect(obj(res.body).error).toMatchObject({ code: 'oauth_authorization_denied' });
  });

  it('when both callback_url and code are given, or neither, then 400', async () => {
    for (const json of [{ callback_url: 'https://x.example/cb?code=a&state=b', code: 'a' }, {}]) {
      expect((await h.call('POST', '/accounts/oauth/callback', { json })).status).toBe(400);
    }
  });
});

describe('the snapshot of OAuth accounts', () => {
  it('when an OAuth credential decrypts to something other than the token JSON, then the account is left out and the log names only its id', async () => {
    const account = await signIn();
    await h.db
      .updateTable('accounts')
      .set({ credential: h.secretBox.encrypt('not-json-secret-value') })
      .where('id', '=', account.id)
      .execute();
    const res = await h.call('PATCH', `/channels/${anthropicChannel}`, { json: { weight: 2 } });
    expect(res.status).toBe(200);
    const ids = h.controlPlane.configSource.current().channels.flatMap((c) => c.accounts.map((a) => a.id));
    expect(ids).not.toContain(account.id);
    expect(h.logs.some((l) => l.accountId === account.id && String(l.msg).includes('no access token'))).toBe(
      true,
    );
    expect(h.logText()).not.toContain('not-json-secret-value');
  });
});

describe('refreshing OAuth accounts', () => {
  it('when the token is within the margin, then a tick refreshes it, the snapshot gets the new token and no refresh token is ever used twice', async () => {
    mock.oauth.expiresInSeconds = 60;
    const account = await signIn();
    const first = snapshotAccount(account.id).apiKey;
    const version = h.controlPlane.configSource.current().version;

    await h.controlPlane.oauthRefresher.refreshNow();
    const second = snapshotAccount(account.id).apiKey;
    expect(second).not.toBe(first);
    expect(mock.oauth.isValidAccessToken(second)).toBe(true);
    expect(h.controlPlane.configSource.current().version).toBeGreaterThan(version);

    // Still within the margin (60 s tokens): the next tick refreshes again, with the rotated token.
    await h.controlPlane.oauthRefresher.refreshNow();
    const third = snapshotAccount(account.id).apiKey;
    expect(third).not.toBe(second);
    const used = refreshRequests().map((r) => r.refreshToken);
    expect(used).toHaveLength(2);
    expect(new Set(used).size).toBe(2);
    expect(refreshRequests().every((r) => r.status === 200)).toBe(true);

    const row = await h.db
      .selectFrom('accounts')
      .selectAll()
      .where('id', '=', account.id)
      .executeTakeFirstOrThrow();
    expect(Number(row.token_expires_at)).toBe(h.clock.now + 60_000);
    expect(row.refresh_lease_owner).toBeNull();
    for (const secret of issuedSecrets()) expect(h.logText()).not.toContain(secret);
  });

  it('when the token is far from expiry, then a tick calls no token endpoint', async () => {
    await signIn();
    await h.controlPlane.oauthRefresher.refreshNow();
    expect(refreshRequests()).toEqual([]);
  });

  it('when the refresh is refused (invalid_grant), then the account is disabled with the reason and the snapshot has it disabled', async () => {
    mock.oauth.expiresInSeconds = 60;
    const account = await signIn();
    mock.oauth.failRefresh = true;
    await h.controlPlane.oauthRefresher.refreshNow();

    const view = (await h.call('GET', `/accounts/${account.id}`)).body as AccountView;
    expect(view).toMatchObject({ enabled: false, disabled_by: 'auto' });
    expect(view.disabled_reason).toMatch(/^OAuth refresh failed: invalid_grant \(HTTP 400\)/);
    expect(snapshotAccount(account.id).enabled).toBe(false);
    for (const secret of issuedSecrets()) {
      expect(view.disabled_reason).not.toContain(secret);
      expect(h.logText()).not.toContain(secret);
    }
    // Disabled accounts are not refreshed again.
    const before = refreshRequests().length;
    await h.controlPlane.oauthRefresher.refreshNow();
    expect(refreshRequests()).toHaveLength(before);
  });

  it('when the token endpoint fails transiently, then the account stays enabled, the lease is released and the next tick retries', async () => {
    mock.oauth.expiresInSeconds = 60;
    const account = await signIn();
    const config = {
      ...JSON.parse((await oauthConfig(account.id)) ?? '{}'),
      token_url: `${mock.url}/oauth/broken`,
    };
    await h.db
      .updateTable('accounts')
      .set({ oauth_config: JSON.stringify(config) })
      .where('id', '=', account.id)
      .execute();
    await h.controlPlane.oauthRefresher.refreshNow();
    const row = await h.db
      .selectFrom('accounts')
      .selectAll()
      .where('id', '=', account.id)
      .executeTakeFirstOrThrow();
    expect(Number(row.enabled)).toBe(1);
    expect(row.refresh_lease_until).toBeNull();
    expect(mock.requests.filter((r) => r.path === '/oauth/broken')).toHaveLength(1);
    await h.controlPlane.oauthRefresher.refreshNow();
    expect(mock.requests.filter((r) => r.path === '/oauth/broken')).toHaveLength(2);
  });

  it('when another replica holds the lease, then the tick leaves the account alone and a forced refresh answers 409', async () => {
    mock.oauth.expiresInSeconds = 60;
    const account = await signIn();
    await h.db
      .updateTable('accounts')
      .set({ refresh_lease_owner: 'other-replica', refresh_lease_until: h.clock.now + 30_000 })
      .where('id', '=', account.id)
      .execute();
    await h.controlPlane.oauthRefresher.refreshNow();
    expect(refreshRequests()).toEqual([]);
    const forced = await h.call('POST', `/accounts/${account.id}/oauth/refresh`);
    expect(forced.status).toBe(409);
    expect(obj(forced.body).error).toMatchObject({ code: 'refresh_in_progress' });

    // Once the lease has run out, this replica takes over.
    h.clock.now += 30_001;
    await h.controlPlane.oauthRefresher.refreshNow();
    expect(refreshRequests()).toHaveLength(1);
  });
});

describe('POST /accounts/:id/oauth/refresh', () => {
  it('when forced on a fresh token, then it refreshes anyway and answers the account with the new expiry', async () => {
    const account = await signIn();
    const before = snapshotAccount(account.id).apiKey;
    h.clock.now += 1000;
    const res = await h.call('POST', `/accounts/${account.id}/oauth/refresh`);
    expect(res.status, res.text).toBe(200);
    expect(checkSchema(res.body, componentSchema('AccountDetail'), doc)).toEqual([]);
    expect(Date.parse((res.body as AccountView).token_expires_at ?? '')).toBe(h.clock.now + 3600_000);
    expect(snapshotAccount(account.id).apiKey).not.toBe(before);
    for (const secret of issuedSecrets()) expect(res.text).not.toContain(secret);
  });

  it('when the refresh is refused, then 502 invalid_grant and the account is disabled', async () => {
    const account = await signIn();
    mock.oauth.failRefresh = true;
    const res = await h.call('POST', `/accounts/${account.id}/oauth/refresh`);
    expect(res.status).toBe(502);
    expect(obj(res.body).error).toMatchObject({ code: 'invalid_grant' });
    expect(snapshotAccount(account.id).enabled).toBe(false);
  });

  it('when the account is an API-key account or does not exist, then 400 or 404', async () => {
    const apiKeyAccount = snapshotAccount(
      h.controlPlane.configSource.current().channels.find((c) => c.id === anthropicChannel)?.accounts[0]
        ?.id ?? 0,
    );
    const notOauth = await h.call('POST', `/accounts/${apiKeyAccount.id}/oauth/refresh`);
    expect(notOauth.status).toBe(400);
    expect(obj(notOauth.body).error).toMatchObject({ code: 'not_oauth_account' });
    expect((await h.call('POST', '/accounts/99999/oauth/refresh')).status).toBe(404);
  });
});

async function oauthConfig(id: number): Promise<string | null> {
  const row = await h.db
    .selectFrom('accounts')
    .select('oauth_config')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return row.oauth_config;
}
