import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AdminHarness, channelBody, dataOf, obj, startAdminHarness } from './admin-harness.js';

const SECRET = 'sk-upstream-secret-AAAAAAAAAAAA';

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
      models: ['gpt-4o', 'gpt-4o-mini*'],
      model_mapping: {},
      priority: 0,
      weight: 1,
      group: 'default',
      enabled: true,
      accounts: [
        { id: expect.any(Number), name: 'account-1', enabled: true },
        { id: expect.any(Number), name: 'backup', enabled: true },
      ],
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
      expect(res.text).not.toMatch(/api_key|credential/);
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
