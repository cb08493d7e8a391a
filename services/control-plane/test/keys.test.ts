import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLIENT_KEY_PREFIX, hashKey } from '@switchyard/core';
import { type AdminHarness, dataOf, obj, startAdminHarness } from './admin-harness.js';

describe('admin /keys', () => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdminHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('when a key is created, then 201 returns the plaintext once, with defaults, and only its hash is stored', async () => {
    const res = await h.call('POST', '/keys', { json: { name: 'laptop' } });
    expect(res.status).toBe(201);
    const body = obj(res.body);
    const key = String(body.key);
    expect(key.startsWith(CLIENT_KEY_PREFIX)).toBe(true);
    expect(body).toEqual({
      id: expect.any(Number),
      name: 'laptop',
      key,
      key_prefix: key.slice(0, 12),
      models: null,
      expires_at: null,
      group: 'default',
      enabled: true,
      pinned_channel_id: null,
      excluded_channel_ids: [],
      created_at: '2026-01-02T03:04:05.000Z',
      updated_at: '2026-01-02T03:04:05.000Z',
    });

    const rows = await h.db.selectFrom('api_keys').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.key_hash).toBe(hashKey(key));
    expect(rows[0]?.key_prefix).toBe(key.slice(0, 12));
    expect(JSON.stringify(rows)).not.toContain(key);
    expect(h.logText()).not.toContain(key);
  });

  it('GET /keys and GET /keys/:id never show the plaintext key or its hash', async () => {
    const created = obj((await h.call('POST', '/keys', { json: { name: 'laptop' } })).body);
    const key = String(created.key);
    const list = await h.call('GET', '/keys');
    const one = await h.call('GET', `/keys/${String(created.id)}`);
    for (const res of [list, one]) {
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(key);
      expect(res.text).not.toContain(hashKey(key));
    }
    const { key: _plaintext, ...withoutKey } = created;
    expect(one.body).toEqual(withoutKey);
    expect(dataOf(list.body)).toEqual([withoutKey]);
  });

  it('when models, expiry and group are given, then they are stored and expires_at comes back in UTC', async () => {
    const res = await h.call('POST', '/keys', {
      json: {
        name: 'ci',
        models: ['gpt-4o*'],
        expires_at: '2030-01-31T02:00:00+02:00',
        group: 'vip',
        enabled: false,
      },
    });
    expect(res.status).toBe(201);
    expect(obj(res.body)).toMatchObject({
      models: ['gpt-4o*'],
      expires_at: '2030-01-31T00:00:00.000Z',
      group: 'vip',
      enabled: false,
    });
    const row = await h.db.selectFrom('api_keys').selectAll().executeTakeFirstOrThrow();
    expect(row.expires_at).toBe(Date.parse('2030-01-31T00:00:00Z'));
    expect(row.enabled).toBe(0);
  });

  it('when a PATCH sets models and expires_at to null, then the key allows every model and never expires', async () => {
    const created = obj(
      (await h.call('POST', '/keys', { json: { name: 'ci', models: ['a'], expires_at: '2030-01-01' } })).body,
    );
    h.clock.now += 1000;
    const res = await h.call('PATCH', `/keys/${String(created.id)}`, {
      json: { models: null, expires_at: null, name: 'ci-2' },
    });
    expect(res.status).toBe(200);
    expect(obj(res.body)).toMatchObject({
      name: 'ci-2',
      models: null,
      expires_at: null,
      updated_at: '2026-01-02T03:04:06.000Z',
      key_prefix: created.key_prefix,
    });
    expect(obj(res.body).key).toBeUndefined();
  });

  it('when a key is deleted, then 204 and it is 404 afterwards', async () => {
    const created = obj((await h.call('POST', '/keys', { json: { name: 'tmp' } })).body);
    expect((await h.call('DELETE', `/keys/${String(created.id)}`)).status).toBe(204);
    expect((await h.call('GET', `/keys/${String(created.id)}`)).status).toBe(404);
    expect((await h.call('DELETE', `/keys/${String(created.id)}`)).status).toBe(404);
    expect(await h.db.selectFrom('api_keys').selectAll().execute()).toEqual([]);
  });

  it('two keys get different plaintexts and different hashes', async () => {
    const a = obj((await h.call('POST', '/keys', { json: { name: 'a' } })).body);
    const b = obj((await h.call('POST', '/keys', { json: { name: 'b' } })).body);
    expect(a.key).not.toBe(b.key);
    const hashes = (await h.db.selectFrom('api_keys').select('key_hash').execute()).map((r) => r.key_hash);
    expect(new Set(hashes).size).toBe(2);
  });

  it('when a key is pinned to a channel and excludes others, then GET, PATCH and the snapshot carry the overrides', async () => {
    const created = await h.call('POST', '/keys', {
      json: { name: 'pinned', pinned_channel_id: 7, excluded_channel_ids: [3, 4] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ pinned_channel_id: 7, excluded_channel_ids: [3, 4] });
    const path = `/keys/${String(obj(created.body).id)}`;
    expect((await h.call('GET', path)).body).toMatchObject({
      pinned_channel_id: 7,
      excluded_channel_ids: [3, 4],
    });
    expect(h.controlPlane.configSource.current().keys[0]).toMatchObject({
      pinnedChannelId: 7,
      excludedChannelIds: [3, 4],
    });

    const patched = await h.call('PATCH', path, {
      json: { pinned_channel_id: null, excluded_channel_ids: [] },
    });
    expect(patched.body).toMatchObject({ pinned_channel_id: null, excluded_channel_ids: [] });
    expect((await h.call('GET', path)).body).toMatchObject({
      pinned_channel_id: null,
      excluded_channel_ids: [],
    });
    expect(h.controlPlane.configSource.current().keys[0]).toMatchObject({
      pinnedChannelId: null,
      excludedChannelIds: [],
    });
    // A PATCH of other fields keeps the overrides.
    await h.call('PATCH', path, { json: { excluded_channel_ids: [9] } });
    expect((await h.call('PATCH', path, { json: { name: 'renamed' } })).body).toMatchObject({
      excluded_channel_ids: [9],
    });
  });

  it.each([
    ['a zero pinned channel', { pinned_channel_id: 0 }, 'pinned_channel_id'],
    ['a text pinned channel', { pinned_channel_id: '3' }, 'pinned_channel_id'],
    ['a non-integer excluded channel', { excluded_channel_ids: [1, 'x'] }, 'excluded_channel_ids.1'],
    ['a null excluded list', { excluded_channel_ids: null }, 'excluded_channel_ids'],
  ])(
    'when a key is created with %s, then 400 naming %s and nothing is stored',
    async (_what, fields, param) => {
      const res = await h.call('POST', '/keys', { json: { name: 'k', ...fields } });
      expect(res.status).toBe(400);
      expect(obj(obj(res.body).error).param).toBe(param);
      expect(await h.db.selectFrom('api_keys').selectAll().execute()).toEqual([]);
    },
  );

  it.each([
    ['GET', '/keys/42'],
    ['PATCH', '/keys/42'],
    ['DELETE', '/keys/42'],
    ['GET', '/keys/1.5'],
  ])('when %s %s names no key, then 404 key_not_found', async (method, path) => {
    const res = await h.call(method, path, method === 'PATCH' ? { json: { enabled: false } } : {});
    expect(res.status).toBe(404);
    expect(obj(obj(res.body).error)).toMatchObject({ code: 'key_not_found', type: 'invalid_request_error' });
  });
});
