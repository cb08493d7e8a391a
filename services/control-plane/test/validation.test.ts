import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { type AdminHarness, channelBody, errorOf, obj, startAdminHarness } from './admin-harness.js';
import {
  AWS_ACCESS_KEY_ID,
  AWS_CREDENTIAL,
  AWS_SECRET_ACCESS_KEY,
  PRIVATE_KEY_PIECE,
  RSA_PRIVATE_KEY_PEM,
  serviceAccountKey,
} from './credential-fixtures.js';

describe('admin request validation', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it.each([
    [
      'models missing for a provider without default models',
      { models: undefined, provider: 'openrouter' },
      'models',
    ],
    ['models empty', { models: [] }, 'models'],
    ['models with an empty name', { models: ['gpt-4o', ''] }, 'models.1'],
    ['name missing', { name: undefined }, 'name'],
    ['unknown provider', { provider: 'cohere' }, 'provider'],
    [
      'an option the provider does not take',
      { options: { api_version: '2024-10-21' } },
      'options.api_version',
    ],
    [
      'an option of another provider',
      { provider: 'anthropic', options: { region: 'us-east-1' } },
      'options.region',
    ],
    [
      'an empty option value',
      { provider: 'anthropic', options: { anthropic_version: ' ' } },
      'options.anthropic_version',
    ],
    [
      'an option value over 2048 characters',
      { provider: 'anthropic', options: { anthropic_version: 'x'.repeat(2049) } },
      'options.anthropic_version',
    ],
    [
      'a non-string option value',
      { provider: 'anthropic', options: { anthropic_version: 20230601 } },
      'options.anthropic_version',
    ],
    ['options as an array', { options: ['region'] }, 'options'],
    [
      'a region that is not a DNS label',
      { provider: 'bedrock', models: ['m'], options: { region: 'evil.example/x' } },
      'options.region',
    ],
    [
      'an option value with a newline',
      { provider: 'anthropic', options: { anthropic_version: '2023-06-01\r\nx-evil: 1' } },
      'options.anthropic_version',
    ],
    ['an account key with a space', { accounts: [{ api_key: 'sk-one two' }] }, 'accounts.0.api_key'],
    ['base_url not a URL', { base_url: 'not a url' }, 'base_url'],
    ['base_url not http(s)', { base_url: 'ftp://files.example.com' }, 'base_url'],
    ['base_url with credentials', { base_url: 'https://user:pass@api.example.com' }, 'base_url'],
    ['base_url with a query', { base_url: 'https://api.example.com/v1?x=1' }, 'base_url'],
    ['an account without api_key', { accounts: [{ name: 'a' }] }, 'accounts.0.api_key'],
    ['an account with a blank api_key', { accounts: [{ api_key: '   ' }] }, 'accounts.0.api_key'],
    ['weight 0', { weight: 0 }, 'weight'],
    ['fractional priority', { priority: 1.5 }, 'priority'],
    ['enabled as a string', { enabled: 'yes' }, 'enabled'],
    ['model_mapping to a number', { model_mapping: { a: 1 } }, 'model_mapping.a'],
    ['an unknown field', { baseUrl: 'https://x.example' }, 'baseUrl'],
  ])('POST /channels with %s → 400 naming %s', async (_case, overrides, param) => {
    const res = await h.call('POST', '/channels', { json: channelBody(overrides) });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toEqual({
      message: expect.stringContaining(param),
      type: 'invalid_request_error',
      code: 'invalid_request',
      param,
    });
  });

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://169.254.0.1:8080',
    'http://[fd00:ec2::254]/latest',
    'http://metadata.google.internal/computeMetadata/v1',
    'http://METADATA.google.internal./',
    'http://[::ffff:169.254.169.254]/',
    'http://0xa9fea9fe/',
    'http://2852039166/',
    'http://[fe80::1]/',
  ])('POST /channels with the metadata/link-local base_url %s → 400, nothing stored', async (base_url) => {
    const res = await h.call('POST', '/channels', { json: channelBody({ base_url }) });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({
      param: 'base_url',
      message: expect.stringMatching(/metadata/),
    });
    expect(
      await h.db.selectFrom('channels').select('id').where('base_url', 'like', '%169.254%').execute(),
    ).toEqual([]);
  });

  it('POST /channels for azure-openai without base_url → 400 "base_url is required for azure-openai", nothing stored', async () => {
    const res = await h.call('POST', '/channels', {
      json: channelBody({ name: 'azure-no-url', provider: 'azure-openai', base_url: undefined }),
    });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({
      param: 'base_url',
      code: 'invalid_request',
      message: expect.stringContaining('base_url is required for azure-openai'),
    });
    expect(
      await h.db.selectFrom('channels').select('id').where('name', '=', 'azure-no-url').execute(),
    ).toEqual([]);
  });

  it.each([
    'http://169.254.169.254/token',
    'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token',
    'http://[fe80::1]/token',
    'https://oauth2.googleapis.com/token?x=1',
    'file:///etc/passwd',
  ])(
    'POST /channels for vertex with the token_url option %s → 400 naming options.token_url',
    async (token_url) => {
      const res = await h.call('POST', '/channels', {
        json: {
          name: 'vertex',
          provider: 'vertex',
          models: ['gemini-2.5-pro'],
          options: { token_url },
          accounts: [{ api_key: serviceAccountKey() }],
        },
      });
      expect(res.status).toBe(400);
      expect(errorOf(res.body).param).toBe('options.token_url');
    },
  );

  it('POST /channels with an unknown option key → 400 whose message names the key and the keys the provider takes', async () => {
    const res = await h.call('POST', '/channels', {
      json: channelBody({ provider: 'azure-openai', options: { apiVersion: '2024-10-21' } }),
    });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({
      param: 'options.apiVersion',
      message: expect.stringMatching(/apiVersion.*azure-openai.*api_version/),
    });
  });

  it.each([
    ['an OpenAI-style key', 'sk-not-an-aws-key-AAAAAAAAAAAA'],
    ['four colon-separated parts', `${AWS_CREDENTIAL}:token:extra`],
    ['an empty secret', `${AWS_ACCESS_KEY_ID}:`],
    ['an access key id with a slash', `AKIA/EXAMPLE:${AWS_SECRET_ACCESS_KEY}`],
    ['JSON without the secret', JSON.stringify({ access_key_id: AWS_ACCESS_KEY_ID })],
    [
      'JSON with another field',
      JSON.stringify({
        access_key_id: AWS_ACCESS_KEY_ID,
        secret_access_key: AWS_SECRET_ACCESS_KEY,
        region: 'x',
      }),
    ],
    [
      'JSON with a numeric session token',
      JSON.stringify({
        access_key_id: AWS_ACCESS_KEY_ID,
        secret_access_key: AWS_SECRET_ACCESS_KEY,
        session_token: 1,
      }),
    ],
    [
      'truncated JSON',
      `{"access_key_id":"${AWS_ACCESS_KEY_ID}","secret_access_key":"${AWS_SECRET_ACCESS_KEY}`,
    ],
  ])(
    'POST /channels for bedrock with %s as the credential → 400 naming the account, the secret not echoed',
    async (_case, api_key) => {
      const res = await h.call('POST', '/channels', {
        json: { name: 'bedrock-bad', provider: 'bedrock', models: ['m'], accounts: [{ api_key }] },
      });
      expect(res.status).toBe(400);
      expect(errorOf(res.body)).toMatchObject({
        param: 'accounts.0.api_key',
        message: expect.stringMatching(/AWS/),
      });
      expect(res.text).not.toContain(AWS_SECRET_ACCESS_KEY);
      expect(res.text).not.toContain(AWS_ACCESS_KEY_ID);
      expect(res.text).not.toContain('sk-not-an-aws-key');
      expect(
        await h.db.selectFrom('channels').select('id').where('name', '=', 'bedrock-bad').execute(),
      ).toEqual([]);
    },
  );

  it.each([
    ['AWS credentials', { api_key: AWS_CREDENTIAL }],
    ['a session token', { api_key: `${AWS_CREDENTIAL}:IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH` }],
    [
      'the JSON form',
      {
        api_key: JSON.stringify({
          access_key_id: AWS_ACCESS_KEY_ID,
          secret_access_key: AWS_SECRET_ACCESS_KEY,
          session_token: 'IQoJb3JpZ2luX2VjEJr',
        }),
      },
    ],
  ])('POST /channels for bedrock with %s → 201', async (_case, account) => {
    const res = await h.call('POST', '/channels', {
      json: { name: 'bedrock-ok', provider: 'bedrock', models: ['m'], accounts: [account] },
    });
    expect(res.status, res.text).toBe(201);
  });

  const ecKey = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;

  it.each([
    ['not JSON', RSA_PRIVATE_KEY_PEM],
    ['a JSON array', JSON.stringify([serviceAccountKey()])],
    ['no client_email', serviceAccountKey({ client_email: undefined })],
    ['no private_key', serviceAccountKey({ private_key: undefined })],
    ['a private_key that is not PEM', serviceAccountKey({ private_key: PRIVATE_KEY_PIECE })],
    [
      'a corrupted PEM private_key',
      serviceAccountKey({ private_key: RSA_PRIVATE_KEY_PEM.replace(PRIVATE_KEY_PIECE, 'AAAA') }),
    ],
    ['an EC private_key', serviceAccountKey({ private_key: ecKey })],
    ['another key type', serviceAccountKey({ type: 'authorized_user' })],
    ['a metadata token_uri', serviceAccountKey({ token_uri: 'http://169.254.169.254/token' })],
  ])(
    'POST /channels for vertex with a service-account key with %s → 400 naming the account, the key not echoed',
    async (_case, api_key) => {
      const res = await h.call('POST', '/channels', {
        json: { name: 'vertex-bad', provider: 'vertex', models: ['gemini-2.5-pro'], accounts: [{ api_key }] },
      });
      expect(res.status).toBe(400);
      expect(errorOf(res.body)).toMatchObject({
        param: 'accounts.0.api_key',
        message: expect.stringMatching(/service-account/),
      });
      expect(res.text).not.toContain(PRIVATE_KEY_PIECE);
      expect(res.text).not.toContain('BEGIN');
      expect(res.text).not.toContain('relay@switchyard-test');
      expect(h.logText()).not.toContain(PRIVATE_KEY_PIECE);
    },
  );

  it('POST /channels whose second account has a bad credential → 400 naming that account', async () => {
    const res = await h.call('POST', '/channels', {
      json: {
        name: 'vertex',
        provider: 'vertex',
        models: ['gemini-2.5-pro'],
        accounts: [{ api_key: serviceAccountKey() }, { api_key: 'AIzaSy-not-a-service-account' }],
      },
    });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).param).toBe('accounts.1.api_key');
    expect(res.text).not.toContain('AIzaSy');
  });

  it('PATCH /channels/:id changing provider to bedrock while the stored key is an API key → 400 naming accounts, channel unchanged, key not echoed', async () => {
    const created = obj(
      (await h.call('POST', '/channels', { json: channelBody({ base_url: undefined }) })).body,
    );
    const path = `/channels/${String(created.id)}`;
    const res = await h.call('PATCH', path, { json: { provider: 'bedrock', name: 'moved' } });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({ param: 'accounts', message: expect.stringMatching(/bedrock/) });
    expect(res.text).not.toContain('sk-upstream-secret');
    expect(obj((await h.call('GET', path)).body)).toEqual(created);
  });

  it('PATCH /channels/:id changing provider while its options belong to the old one → 400 naming the option', async () => {
    const created = obj(
      (
        await h.call('POST', '/channels', {
          json: channelBody({ provider: 'azure-openai', options: { api_version: '2024-10-21' } }),
        })
      ).body,
    );
    const path = `/channels/${String(created.id)}`;
    const res = await h.call('PATCH', path, { json: { provider: 'openai' } });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).param).toBe('options.api_version');
    const fixed = await h.call('PATCH', path, { json: { provider: 'openai', options: {} } });
    expect(fixed.status).toBe(200);
    expect(obj(fixed.body)).toMatchObject({ provider: 'openai', options: {}, base_url: created.base_url });
  });

  it('PATCH /channels/:id moving a default-base_url channel to azure-openai without base_url → 400 naming base_url', async () => {
    const created = obj(
      (await h.call('POST', '/channels', { json: channelBody({ base_url: undefined }) })).body,
    );
    const path = `/channels/${String(created.id)}`;
    const res = await h.call('PATCH', path, { json: { provider: 'azure-openai' } });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({
      param: 'base_url',
      message: expect.stringContaining('base_url is required for azure-openai'),
    });
    expect(obj((await h.call('GET', path)).body)).toEqual(created);
  });

  it('PATCH /channels/:id with accounts of the wrong form for the channel provider → 400 naming the account', async () => {
    const created = obj(
      (
        await h.call('POST', '/channels', {
          json: { name: 'b', provider: 'bedrock', models: ['m'], accounts: [{ api_key: AWS_CREDENTIAL }] },
        })
      ).body,
    );
    const res = await h.call('PATCH', `/channels/${String(created.id)}`, {
      json: { accounts: [{ api_key: AWS_CREDENTIAL }, { api_key: 'sk-plain-key' }] },
    });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).param).toBe('accounts.1.api_key');
    expect(res.text).not.toContain(AWS_SECRET_ACCESS_KEY);
  });

  it.each(['http://localhost:11434/v1', 'http://[::1]:8080'])(
    'POST /channels with the loopback base_url %s → 201 (the default policy allows loopback)',
    async (base_url) => {
      const res = await h.call('POST', '/channels', { json: channelBody({ base_url }) });
      expect(res.status).toBe(201);
    },
  );

  it.each(['http://10.0.0.5:8000', 'http://192.168.1.20/v1'])(
    'POST /channels with the private base_url %s → 400 naming SWITCHYARD_UPSTREAM_ALLOW (private is not allowed by default)',
    async (base_url) => {
      const res = await h.call('POST', '/channels', { json: channelBody({ base_url }) });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toContain('SWITCHYARD_UPSTREAM_ALLOW');
    },
  );

  it('PATCH /channels/:id with a metadata base_url → 400 and the channel is unchanged', async () => {
    const created = obj((await h.call('POST', '/channels', { json: channelBody() })).body);
    const res = await h.call('PATCH', `/channels/${String(created.id)}`, {
      json: { name: 'evil', base_url: 'http://169.254.169.254' },
    });
    expect(res.status).toBe(400);
    expect(obj((await h.call('GET', `/channels/${String(created.id)}`)).body)).toEqual(created);
  });

  it('PATCH /channels/:id with accounts: [] → 400 (a PATCH may not leave a channel without accounts)', async () => {
    const created = obj((await h.call('POST', '/channels', { json: channelBody() })).body);
    const res = await h.call('PATCH', `/channels/${String(created.id)}`, { json: { accounts: [] } });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).param).toBe('accounts');
  });

  it.each([
    ['not a date', 'tomorrow'],
    ['an impossible day', '2026-02-30'],
    ['a date-time without a zone', '2030-01-01T00:00:00'],
    ['a number', 1893456000000],
    ['hour 25', '2030-01-01T25:00:00Z'],
  ])('POST /keys with expires_at as %s → 400 naming expires_at', async (_case, expires_at) => {
    const res = await h.call('POST', '/keys', { json: { name: 'k', expires_at } });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({ param: 'expires_at', type: 'invalid_request_error' });
  });

  it.each([
    ['name missing', {}, 'name'],
    ['models empty', { name: 'k', models: [] }, 'models'],
    ['models a string', { name: 'k', models: 'gpt-4o' }, 'models'],
    ['an unknown field', { name: 'k', key: 'sk-mine' }, 'key'],
  ])('POST /keys with %s → 400 naming %s', async (_case, json, param) => {
    const res = await h.call('POST', '/keys', { json });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).param).toBe(param);
  });

  it('malformed JSON → 400 invalid_json, for channels and keys alike', async () => {
    for (const path of ['/channels', '/keys']) {
      const res = await h.call('POST', path, { rawBody: '{"name": "x",' });
      expect(res.status).toBe(400);
      expect(errorOf(res.body)).toEqual({
        message: 'The request body is not valid JSON.',
        type: 'invalid_request_error',
        code: 'invalid_json',
      });
    }
  });

  it('a body that is not JSON-typed, or a JSON array, → 400 invalid_body', async () => {
    const plain = await h.call('POST', '/keys', { rawBody: '{"name":"k"}', contentType: 'text/plain' });
    expect(plain.status).toBe(400);
    expect(errorOf(plain.body).code).toBe('invalid_body');
    const array = await h.call('POST', '/keys', { json: [{ name: 'k' }] });
    expect(array.status).toBe(400);
    expect(errorOf(array.body).code).toBe('invalid_body');
  });

  it('a body over 1 MiB → 413 request_too_large', async () => {
    const res = await h.call('POST', '/keys', { json: { name: 'x'.repeat(1_100_000) } });
    expect(res.status).toBe(413);
    expect(errorOf(res.body)).toMatchObject({ code: 'request_too_large', type: 'invalid_request_error' });
  });

  it('no error response carries a stack trace', async () => {
    const responses = [
      await h.call('POST', '/channels', { rawBody: '{' }),
      await h.call('POST', '/channels', { json: channelBody({ base_url: 'nope' }) }),
      await h.call('GET', '/keys/404'),
    ];
    for (const res of responses) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.text).not.toMatch(/\bat .+:\d+:\d+|node_modules|\.ts\b/);
      expect(Object.keys(obj(res.body))).toEqual(['error']);
    }
  });
});

describe('admin unexpected failures', () => {
  it('when the database fails, then 500 with a generic body, and the cause is logged', async () => {
    const h = await startAdminHarness();
    try {
      await h.db.schema.dropTable('usage_logs').execute();
      const res = await h.call('GET', '/usage');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({
        error: {
          message: 'The control plane hit an internal error.',
          type: 'api_error',
          code: 'internal_error',
        },
      });
      expect(res.text).not.toMatch(/usage_logs|sqlite|at /i);
      const logged = h.logs.find((l) => l.msg === 'admin request failed');
      expect(logged?.level).toBe(50);
      expect(JSON.stringify(logged)).toMatch(/usage_logs/);
    } finally {
      await h.close();
    }
  });
});
