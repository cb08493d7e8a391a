import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROVIDER_CATALOG, PROVIDER_IDS, type ProviderId } from '@switchyard/core';
import { type AdminHarness, channelBody, dataOf, obj, startAdminHarness } from './admin-harness.js';
import {
  AWS_CREDENTIAL,
  AWS_SECRET_ACCESS_KEY,
  credentialFor,
  PRIVATE_KEY_PIECE,
} from './credential-fixtures.js';

const SECRET = 'sk-upstream-secret-AAAAAAAAAAAA';

/** An enabled API-key account as a channel view lists it. */
const ACCOUNT_SUMMARY = {
  enabled: true,
  kind: 'api_key',
  disabled_reason: null,
  disabled_by: null,
  proxy_id: null,
  managed_by: null,
};

describe('admin /channels', () => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdminHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('when a channel is created with only required fields, then 201 with defaults, a normalised base_url and named accounts', async () => {
    const res = await h.call('POST', '/channels', {
      json: channelBody({
        accounts: [{ api_key: SECRET }, { name: 'backup', api_key: 'sk-second-BBBBBBBB' }],
      }),
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(Number),
      name: 'openai-main',
      provider: 'openai',
      base_url: 'https://api.openai.com/v1',
      options: {},
      models: ['gpt-4o', 'gpt-4o-mini*'],
      model_mapping: {},
      priority: 0,
      weight: 1,
      group: 'default',
      groups: ['default'],
      enabled: true,
      account_strategy: 'round-robin',
      sticky_sessions: false,
      connect_timeout_ms: null,
      first_byte_timeout_ms: null,
      idle_timeout_ms: null,
      breaker: {
        error_threshold_percent: 50,
        volume_threshold: 5,
        reset_timeout_ms: 30000,
        window_ms: 10000,
      },
      accounts: [
        { ...ACCOUNT_SUMMARY, id: expect.any(Number), name: 'account-1' },
        { ...ACCOUNT_SUMMARY, id: expect.any(Number), name: 'backup' },
      ],
      managed_by: null,
      created_at: '2026-01-02T03:04:05.000Z',
      updated_at: '2026-01-02T03:04:05.000Z',
    });
  });

  it('when every optional field is given, then each is stored and returned as given', async () => {
    const res = await h.call('POST', '/channels', {
      json: channelBody({
        model_mapping: { 'gpt-4': 'gpt-4o' },
        priority: 5,
        weight: 3,
        group: 'vip',
        enabled: false,
        base_url: 'http://localhost:11434',
      }),
    });
    expect(res.status).toBe(201);
    expect(obj(res.body)).toMatchObject({
      model_mapping: { 'gpt-4': 'gpt-4o' },
      priority: 5,
      weight: 3,
      group: 'vip',
      enabled: false,
      base_url: 'http://localhost:11434',
    });
  });

  it('the upstream api_key appears in no create, get, list or patch response, and no credential field exists', async () => {
    const created = await h.call('POST', '/channels', { json: channelBody() });
    const id = obj(created.body).id as number;
    const [row] = await h.db.selectFrom('accounts').select('credential').execute();
    const responses = [
      created,
      await h.call('GET', `/channels/${id}`),
      await h.call('GET', '/channels'),
      await h.call('PATCH', `/channels/${id}`, { json: { name: 'renamed' } }),
    ];
    for (const res of responses) {
      expect(res.status).toBeLessThan(300);
      expect(res.text).not.toContain(SECRET);
      expect(res.text).not.toContain(row?.credential);
      // No field is named after the secret (`kind: "api_key"` is a value, not a field).
      expect(res.text).not.toMatch(/"(api_key|credential)":/);
    }
    expect(h.logText()).not.toContain(SECRET);
  });

  it('the upstream api_key is encrypted at rest and decrypts back to itself', async () => {
    await h.call('POST', '/channels', { json: channelBody() });
    const rows = await h.db.selectFrom('accounts').selectAll().execute();
    expect(rows).toHaveLength(1);
    const credential = rows[0]?.credential ?? '';
    expect(credential).not.toContain(SECRET);
    expect(credential).toMatch(/^v1\./);
    expect(h.secretBox.decrypt(credential)).toBe(SECRET);
  });

  it('GET /channels lists every channel ordered by id, and GET /channels/:id returns one', async () => {
    const a = obj((await h.call('POST', '/channels', { json: channelBody({ name: 'a' }) })).body);
    const b = obj((await h.call('POST', '/channels', { json: channelBody({ name: 'b' }) })).body);
    const list = await h.call('GET', '/channels');
    expect(list.status).toBe(200);
    expect(dataOf(list.body).map((c) => c.name)).toEqual(['a', 'b']);
    expect(dataOf(list.body).map((c) => c.id)).toEqual([a.id, b.id]);
    const one = await h.call('GET', `/channels/${String(b.id)}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(b);
  });

  it('when a PATCH changes some fields, then only those change and updated_at moves', async () => {
    const created = obj((await h.call('POST', '/channels', { json: channelBody() })).body);
    h.clock.now += 60_000;
    const res = await h.call('PATCH', `/channels/${String(created.id)}`, {
      json: { name: 'renamed', priority: 7, base_url: 'https://example.test/openai/v1/' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ...created,
      name: 'renamed',
      priority: 7,
      base_url: 'https://example.test/openai/v1',
      updated_at: '2026-01-02T03:05:05.000Z',
    });
  });

  it('when a PATCH carries accounts, then the account list is replaced and the new keys are stored encrypted', async () => {
    const created = obj((await h.call('POST', '/channels', { json: channelBody() })).body);
    const res = await h.call('PATCH', `/channels/${String(created.id)}`, {
      json: { accounts: [{ api_key: 'sk-new-one-CCCCCC' }, { api_key: 'sk-new-two-DDDDDD', name: 'two' }] },
    });
    expect(res.status).toBe(200);
    const accounts = obj(res.body).accounts as { id: number; name: string }[];
    expect(accounts.map((a) => a.name)).toEqual(['account-1', 'two']);
    const oldIds = (created.accounts as { id: number }[]).map((a) => a.id);
    expect(accounts.some((a) => oldIds.includes(a.id))).toBe(false);
    const rows = await h.db.selectFrom('accounts').selectAll().orderBy('id').execute();
    expect(rows.map((r) => h.secretBox.decrypt(r.credential))).toEqual([
      'sk-new-one-CCCCCC',
      'sk-new-two-DDDDDD',
    ]);
    expect(res.text).not.toContain('sk-new-');
  });

  it('when a channel is disabled and re-enabled by PATCH, then GET reflects each state', async () => {
    const created = obj((await h.call('POST', '/channels', { json: channelBody() })).body);
    const path = `/channels/${String(created.id)}`;
    expect(obj((await h.call('PATCH', path, { json: { enabled: false } })).body).enabled).toBe(false);
    expect(obj((await h.call('GET', path)).body).enabled).toBe(false);
    expect(obj((await h.call('PATCH', path, { json: { enabled: true } })).body).enabled).toBe(true);
    expect(obj((await h.call('GET', path)).body).enabled).toBe(true);
  });

  it('when a channel is deleted, then 204 with no body, its accounts are gone and it is 404 afterwards', async () => {
    const keep = obj((await h.call('POST', '/channels', { json: channelBody({ name: 'keep' }) })).body);
    const gone = obj((await h.call('POST', '/channels', { json: channelBody({ name: 'gone' }) })).body);
    const res = await h.call('DELETE', `/channels/${String(gone.id)}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect((await h.call('GET', `/channels/${String(gone.id)}`)).status).toBe(404);
    const accounts = await h.db.selectFrom('accounts').select('channel_id').execute();
    expect(accounts.map((a) => a.channel_id)).toEqual([keep.id]);
    expect(dataOf((await h.call('GET', '/channels')).body).map((c) => c.name)).toEqual(['keep']);
  });

  it.each([
    ['GET', '/channels/999'],
    ['PATCH', '/channels/999'],
    ['DELETE', '/channels/999'],
    ['GET', '/channels/abc'],
    ['PATCH', '/channels/0'],
  ])('when %s %s names no channel, then 404 channel_not_found', async (method, path) => {
    const res = await h.call(method, path, method === 'PATCH' ? { json: { name: 'x' } } : {});
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      error: {
        message: expect.any(String),
        type: 'invalid_request_error',
        code: 'channel_not_found',
        param: 'id',
      },
    });
  });
});

/** What a channel of each provider is created with, and the base_url/models it must end up with. */
interface ProviderCase {
  provider: ProviderId;
  body: Record<string, unknown>;
  baseUrl: string;
  models: string[];
}

const SPECIAL_CASES: Partial<Record<ProviderId, Omit<ProviderCase, 'provider'>>> = {
  openai: {
    body: {},
    baseUrl: 'https://api.openai.com/v1',
    models: [...PROVIDER_CATALOG.openai.defaultModels],
  },
  'azure-openai': {
    body: {
      base_url: 'https://my-resource.openai.azure.com/openai/',
      options: { api_version: '2024-10-21' },
      models: ['gpt-4o-deployment'],
    },
    baseUrl: 'https://my-resource.openai.azure.com/openai',
    models: ['gpt-4o-deployment'],
  },
  anthropic: {
    body: { options: { anthropic_version: '2023-06-01' } },
    baseUrl: 'https://api.anthropic.com',
    models: [...PROVIDER_CATALOG.anthropic.defaultModels],
  },
  gemini: {
    body: {},
    baseUrl: 'https://generativelanguage.googleapis.com',
    models: [...PROVIDER_CATALOG.gemini.defaultModels],
  },
  bedrock: {
    body: { options: { region: 'eu-west-1' }, models: ['anthropic.claude-3-5-sonnet-20240620-v1:0'] },
    baseUrl: 'https://bedrock-runtime.eu-west-1.amazonaws.com',
    models: ['anthropic.claude-3-5-sonnet-20240620-v1:0'],
  },
  vertex: {
    body: {
      options: {
        project_id: 'switchyard-test',
        location: 'europe-west4',
        token_url: 'https://oauth2.googleapis.com/token',
      },
      models: ['gemini-2.5-pro'],
    },
    baseUrl: 'https://europe-west4-aiplatform.googleapis.com',
    models: ['gemini-2.5-pro'],
  },
};

/** One case per provider id; OpenAI-compatible presets take their catalogue defaults. */
const PROVIDER_CASES: ProviderCase[] = PROVIDER_IDS.map((provider) => {
  const special = SPECIAL_CASES[provider];
  if (special !== undefined) return { provider, ...special };
  const profile = PROVIDER_CATALOG[provider];
  const hasModels = profile.defaultModels.length > 0;
  return {
    provider,
    body: hasModels ? {} : { models: ['served-model'] },
    baseUrl: profile.defaultBaseUrl ?? '',
    models: hasModels ? [...profile.defaultModels] : ['served-model'],
  };
});

describe('admin /channels for every provider', () => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdminHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function create(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const res = await h.call('POST', '/channels', { json: body });
    expect(res.status, res.text).toBe(201);
    return obj(res.body);
  }

  it.each(PROVIDER_CASES)(
    'when a $provider channel is created without base_url or models where it has defaults, then they are filled, options are shown back and the credential is stored encrypted, never returned',
    async ({ provider, body, baseUrl, models }) => {
      const credential = credentialFor(provider);
      const res = await h.call('POST', '/channels', {
        json: { name: `${provider}-main`, provider, accounts: [{ api_key: credential }], ...body },
      });
      expect(res.status, res.text).toBe(201);
      expect(obj(res.body)).toMatchObject({
        provider,
        base_url: baseUrl,
        models,
        options: body.options ?? {},
      });
      const got = await h.call('GET', `/channels/${String(obj(res.body).id)}`);
      expect(got.body).toEqual(res.body);
      for (const text of [res.text, got.text, h.logText()]) {
        expect(text).not.toContain(credential);
        expect(text).not.toContain(AWS_SECRET_ACCESS_KEY);
        expect(text).not.toContain(PRIVATE_KEY_PIECE);
      }
      const [row] = await h.db.selectFrom('accounts').select('credential').execute();
      expect(h.secretBox.decrypt(row?.credential ?? '')).toBe(credential);
    },
  );

  it('every provider kind has a case above', () => {
    expect(PROVIDER_CASES.map((c) => c.provider)).toEqual([...PROVIDER_IDS]);
    expect(PROVIDER_CASES.every((c) => c.baseUrl.startsWith('http'))).toBe(true);
  });

  it('when a PATCH gives options, then they replace the old ones and are shown back', async () => {
    const created = await create(
      channelBody({
        provider: 'anthropic',
        base_url: undefined,
        options: { anthropic_version: '2023-01-01' },
      }),
    );
    const path = `/channels/${String(created.id)}`;
    const res = await h.call('PATCH', path, { json: { options: { anthropic_version: '2023-06-01' } } });
    expect(res.status).toBe(200);
    expect(obj(res.body).options).toEqual({ anthropic_version: '2023-06-01' });
    const cleared = await h.call('PATCH', path, { json: { options: {} } });
    expect(obj(cleared.body).options).toEqual({});
    expect(obj((await h.call('GET', path)).body).options).toEqual({});
  });

  it('when a Bedrock channel on the default base_url changes region, then its base_url follows', async () => {
    const created = await create({
      name: 'bedrock',
      provider: 'bedrock',
      models: ['amazon.nova-pro-v1:0'],
      accounts: [{ api_key: AWS_CREDENTIAL }],
    });
    expect(created.base_url).toBe('https://bedrock-runtime.us-east-1.amazonaws.com');
    const res = await h.call('PATCH', `/channels/${String(created.id)}`, {
      json: { options: { region: 'ap-northeast-1' } },
    });
    expect(res.status).toBe(200);
    expect(obj(res.body)).toMatchObject({
      base_url: 'https://bedrock-runtime.ap-northeast-1.amazonaws.com',
      options: { region: 'ap-northeast-1' },
    });
  });

  it('when a channel with its own base_url changes provider, then the base_url is kept', async () => {
    const created = await create(channelBody({ base_url: 'https://proxy.example.test/v1' }));
    const res = await h.call('PATCH', `/channels/${String(created.id)}`, { json: { provider: 'deepseek' } });
    expect(res.status).toBe(200);
    expect(obj(res.body)).toMatchObject({ provider: 'deepseek', base_url: 'https://proxy.example.test/v1' });
  });

  it('when a channel on its default base_url changes provider, then it takes the new default and keeps its models', async () => {
    const created = await create(channelBody({ base_url: undefined }));
    const res = await h.call('PATCH', `/channels/${String(created.id)}`, {
      json: { provider: 'anthropic', options: { anthropic_version: '2023-06-01' } },
    });
    expect(res.status).toBe(200);
    expect(obj(res.body)).toMatchObject({
      provider: 'anthropic',
      base_url: 'https://api.anthropic.com',
      options: { anthropic_version: '2023-06-01' },
      models: created.models,
    });
  });

  it('when a PATCH moves a channel to Bedrock with new AWS accounts, then the provider, default base_url and accounts change together', async () => {
    const created = await create(channelBody({ base_url: undefined }));
    const res = await h.call('PATCH', `/channels/${String(created.id)}`, {
      json: { provider: 'bedrock', accounts: [{ api_key: AWS_CREDENTIAL }] },
    });
    expect(res.status, res.text).toBe(200);
    expect(obj(res.body)).toMatchObject({
      provider: 'bedrock',
      base_url: 'https://bedrock-runtime.us-east-1.amazonaws.com',
    });
    expect(res.text).not.toContain(AWS_SECRET_ACCESS_KEY);
    const rows = await h.db.selectFrom('accounts').select('credential').execute();
    expect(rows.map((r) => h.secretBox.decrypt(r.credential))).toEqual([AWS_CREDENTIAL]);
  });

  it('when a channel row predates the options column (NULL), then it reads as options {}', async () => {
    const created = await create(channelBody());
    await h.db.updateTable('channels').set({ options: null }).where('id', '=', Number(created.id)).execute();
    const got = await h.call('GET', `/channels/${String(created.id)}`);
    expect(got.status).toBe(200);
    expect(obj(got.body).options).toEqual({});
  });
});

describe('admin /providers', () => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdminHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('when GET /providers is called, then every provider is listed with its defaults, options and credential kind', async () => {
    const res = await h.call('GET', '/providers');
    expect(res.status).toBe(200);
    const providers = dataOf(res.body);
    expect(providers.map((p) => p.id)).toEqual([...PROVIDER_IDS]);
    const byId = new Map(providers.map((p) => [p.id, p]));
    expect(byId.get('openai')).toMatchObject({
      default_base_url: 'https://api.openai.com/v1',
      credential: 'bearer',
      options: {},
      openai_compatible: true,
    });
    expect(byId.get('azure-openai')).toMatchObject({
      default_base_url: null,
      default_models: [],
      credential: 'azure-api-key',
      options: { api_version: { description: expect.any(String), default: '2024-10-21', required: false } },
    });
    expect(byId.get('bedrock')).toMatchObject({
      default_base_url: 'https://bedrock-runtime.us-east-1.amazonaws.com',
      credential: 'aws-sigv4',
      options: { region: { default: 'us-east-1' } },
    });
    expect(byId.get('vertex')).toMatchObject({
      default_base_url: 'https://us-central1-aiplatform.googleapis.com',
      credential: 'google-service-account',
      options: {
        project_id: { default: null },
        location: { default: 'us-central1' },
        token_url: { default: null },
      },
    });
    expect(byId.get('anthropic')).toMatchObject({
      credential: 'anthropic-api-key',
      openai_compatible: false,
    });
  });

  it('when GET /providers is called without the admin token, then 401', async () => {
    const res = await h.call('GET', '/providers', { token: null });
    expect(res.status).toBe(401);
  });

  it('when a channel is created with every routing field, then GET and the snapshot show them as given', async () => {
    const created = await h.call('POST', '/channels', {
      json: channelBody({
        groups: ['vip', 'batch'],
        account_strategy: 'fill-first',
        sticky_sessions: true,
        connect_timeout_ms: 5000,
        first_byte_timeout_ms: 45000,
        idle_timeout_ms: null,
        breaker: { error_threshold_percent: 25, window_ms: 20000 },
      }),
    });
    expect(created.status).toBe(201);
    const routing = {
      group: 'vip',
      groups: ['vip', 'batch'],
      account_strategy: 'fill-first',
      sticky_sessions: true,
      connect_timeout_ms: 5000,
      first_byte_timeout_ms: 45000,
      idle_timeout_ms: null,
      // Fields left out of the breaker keep their defaults.
      breaker: {
        error_threshold_percent: 25,
        volume_threshold: 5,
        reset_timeout_ms: 30000,
        window_ms: 20000,
      },
    };
    expect(created.body).toMatchObject(routing);
    const id = obj(created.body).id as number;
    expect((await h.call('GET', `/channels/${id}`)).body).toMatchObject(routing);
    expect(h.controlPlane.configSource.current().channels[0]).toMatchObject({
      groups: ['vip', 'batch'],
      accountStrategy: 'fill-first',
      stickySessions: true,
      timeouts: { connectMs: 5000, firstByteMs: 45000, idleMs: null },
      breaker: { errorThresholdPercent: 25, volumeThreshold: 5, resetTimeoutMs: 30000, windowMs: 20000 },
    });
  });

  it('when a PATCH changes one timeout and one breaker field, then the others keep their values; breaker null restores the defaults', async () => {
    const created = await h.call('POST', '/channels', {
      json: channelBody({
        connect_timeout_ms: 5000,
        idle_timeout_ms: 90000,
        breaker: { volume_threshold: 20, reset_timeout_ms: 5000 },
      }),
    });
    const path = `/channels/${String(obj(created.body).id)}`;
    const patched = await h.call('PATCH', path, {
      json: {
        connect_timeout_ms: null,
        breaker: { volume_threshold: 7 },
        groups: ['a', 'b'],
        sticky_sessions: true,
      },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      connect_timeout_ms: null,
      first_byte_timeout_ms: null,
      idle_timeout_ms: 90000,
      breaker: { error_threshold_percent: 50, volume_threshold: 7, reset_timeout_ms: 5000, window_ms: 10000 },
      group: 'a',
      groups: ['a', 'b'],
      sticky_sessions: true,
    });
    expect(h.controlPlane.configSource.current().channels[0]).toMatchObject({
      timeouts: { connectMs: null, firstByteMs: null, idleMs: 90000 },
      breaker: { volumeThreshold: 7, resetTimeoutMs: 5000 },
      groups: ['a', 'b'],
    });

    const reset = await h.call('PATCH', path, { json: { breaker: null, group: 'solo' } });
    expect(reset.body).toMatchObject({
      breaker: {
        error_threshold_percent: 50,
        volume_threshold: 5,
        reset_timeout_ms: 30000,
        window_ms: 10000,
      },
      group: 'solo',
      groups: ['solo'],
    });
    expect(h.controlPlane.configSource.current().channels[0]?.breaker).toEqual({
      errorThresholdPercent: 50,
      volumeThreshold: 5,
      resetTimeoutMs: 30000,
      windowMs: 10000,
    });
  });

  it.each([
    ['an unknown account strategy', { account_strategy: 'random' }, 'account_strategy'],
    ['a zero connect timeout', { connect_timeout_ms: 0 }, 'connect_timeout_ms'],
    ['a fractional first-byte timeout', { first_byte_timeout_ms: 1.5 }, 'first_byte_timeout_ms'],
    ['an idle timeout over an hour', { idle_timeout_ms: 3_600_001 }, 'idle_timeout_ms'],
    [
      'a breaker percentage of 101',
      { breaker: { error_threshold_percent: 101 } },
      'breaker.error_threshold_percent',
    ],
    ['an unknown breaker field', { breaker: { threshold: 5 } }, 'breaker.threshold'],
    ['an empty groups list', { groups: [] }, 'groups'],
    ['a non-boolean sticky_sessions', { sticky_sessions: 'yes' }, 'sticky_sessions'],
  ])(
    'when a channel is created or patched with %s, then 400 naming %s and nothing changes',
    async (_what, fields, param) => {
      const created = await h.call('POST', '/channels', { json: channelBody(fields) });
      expect(created.status).toBe(400);
      expect(obj(obj(created.body).error)).toMatchObject({ type: 'invalid_request_error', param });
      expect(await h.db.selectFrom('channels').selectAll().execute()).toEqual([]);

      const channel = obj((await h.call('POST', '/channels', { json: channelBody() })).body);
      const path = `/channels/${String(channel.id)}`;
      const patched = await h.call('PATCH', path, { json: fields });
      expect(patched.status).toBe(400);
      expect(obj(obj(patched.body).error).param).toBe(param);
      expect((await h.call('GET', path)).body).toEqual(channel);
    },
  );
});
