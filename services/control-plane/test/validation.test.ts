import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminHarness, channelBody, obj, startAdminHarness } from './admin-harness.js';

/** The error object of a 4xx/5xx body. */
function errorOf(body: unknown): Record<string, unknown> {
  return obj(obj(body).error);
}

describe('admin request validation', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it.each([
    ['models missing', { models: undefined }, 'models'],
    ['models empty', { models: [] }, 'models'],
    ['models with an empty name', { models: ['gpt-4o', ''] }, 'models.1'],
    ['name missing', { name: undefined }, 'name'],
    ['unknown provider', { provider: 'anthropic' }, 'provider'],
    ['base_url not a URL', { base_url: 'not a url' }, 'base_url'],
    ['base_url not http(s)', { base_url: 'ftp://files.example.com' }, 'base_url'],
    ['base_url with credentials', { base_url: 'https://user:pass@api.example.com' }, 'base_url'],
    ['base_url with a query', { base_url: 'https://api.example.com/v1?x=1' }, 'base_url'],
    ['no accounts', { accounts: [] }, 'accounts'],
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

  it.each([
    'http://localhost:11434/v1',
    'http://10.0.0.5:8000',
    'http://192.168.1.20/v1',
    'http://[::1]:8080',
  ])('POST /channels with the private base_url %s → 201', async (base_url) => {
    const res = await h.call('POST', '/channels', { json: channelBody({ base_url }) });
    expect(res.status).toBe(201);
  });

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
