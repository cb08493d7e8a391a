import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLIENT_KEY_PREFIX, hashKey } from '@switchyard/core';
import {
  type AdminHarness,
  dataOf,
  errorOf,
  getPage,
  obj,
  startAdminHarness,
  startMysqlAdminHarness,
  walkPages,
} from './admin-harness.js';

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
      user_id: null,
      quota: null,
      used: '0',
      remaining: null,
      ip_allowlist: null,
      rpm_limit: null,
      tpm_limit: null,
      concurrency_limit: null,
      last_used_at: null,
      managed_by: null,
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
    expect((await h.call('POST', '/groups', { json: { name: 'vip' } })).status).toBe(201);
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

describe('admin /keys: users, quotas, limits and address allowlists', () => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdminHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function createUser(json: Record<string, unknown>): Promise<number> {
    const res = await h.call('POST', '/users', { json });
    expect(res.status, res.text).toBe(201);
    return Number(obj(res.body).id);
  }

  it('when a key is created for a user without a group, then it takes the user’s group, and an explicit group wins', async () => {
    await h.call('POST', '/groups', { json: { name: 'vip' } });
    await h.call('POST', '/groups', { json: { name: 'batch' } });
    const userId = await createUser({ name: 'alice', group: 'vip' });
    const inherited = await h.call('POST', '/keys', { json: { name: 'a', user_id: userId } });
    expect(inherited.status).toBe(201);
    expect(inherited.body).toMatchObject({ user_id: userId, group: 'vip' });
    const explicit = await h.call('POST', '/keys', {
      json: { name: 'b', user_id: userId, group: 'batch' },
    });
    expect(explicit.body).toMatchObject({ user_id: userId, group: 'batch' });
    const none = await h.call('POST', '/keys', { json: { name: 'c' } });
    expect(none.body).toMatchObject({ user_id: null, group: 'default' });
    expect(h.controlPlane.configSource.current().keys.map((k) => [k.name, k.userId, k.group])).toEqual([
      ['a', userId, 'vip'],
      ['b', userId, 'batch'],
      ['c', null, 'default'],
    ]);
  });

  it('when a key names a user or group that does not exist, then 400 unknown_user / unknown_group and nothing is stored or published', async () => {
    const noUser = await h.call('POST', '/keys', { json: { name: 'k', user_id: 99 } });
    expect(noUser.status).toBe(400);
    expect(errorOf(noUser.body)).toMatchObject({ code: 'unknown_user', param: 'user_id' });
    const noGroup = await h.call('POST', '/keys', { json: { name: 'k', group: 'nope' } });
    expect(noGroup.status).toBe(400);
    expect(errorOf(noGroup.body)).toMatchObject({ code: 'unknown_group', param: 'group' });
    expect(await h.db.selectFrom('api_keys').selectAll().execute()).toEqual([]);
    expect(h.controlPlane.configSource.current().version).toBe(1);

    const created = obj((await h.call('POST', '/keys', { json: { name: 'k' } })).body);
    const path = `/keys/${String(created.id)}`;
    const patchUser = await h.call('PATCH', path, { json: { user_id: 99 } });
    expect(errorOf(patchUser.body)).toMatchObject({ code: 'unknown_user', param: 'user_id' });
    const patchGroup = await h.call('PATCH', path, { json: { group: 'nope', name: 'renamed' } });
    expect(errorOf(patchGroup.body)).toMatchObject({ code: 'unknown_group', param: 'group' });
    expect((await h.call('GET', path)).body).toMatchObject({ name: 'k', group: 'default', user_id: null });
  });

  it('when a key gets a quota, limits and an allowlist, then the view shows them (money as USD strings) and the snapshot carries them', async () => {
    const userId = await createUser({ name: 'bob' });
    const res = await h.call('POST', '/keys', {
      json: {
        name: 'limited',
        user_id: userId,
        quota: '12.5',
        ip_allowlist: ['10.0.0.0/8', ' 192.0.2.7 ', '2001:db8::/32', '::1'],
        rpm_limit: 60,
        tpm_limit: 100_000,
        concurrency_limit: 2,
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      user_id: userId,
      quota: '12.5',
      used: '0',
      remaining: '12.5',
      ip_allowlist: ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', '::1'],
      rpm_limit: 60,
      tpm_limit: 100_000,
      concurrency_limit: 2,
      last_used_at: null,
    });
    const id = Number(obj(res.body).id);
    expect(h.controlPlane.configSource.current().keys).toEqual([
      expect.objectContaining({
        id,
        userId,
        quotaNano: 12_500_000_000,
        usedNano: 0,
        ipAllowlist: ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', '::1'],
        rpmLimit: 60,
        tpmLimit: 100_000,
        concurrencyLimit: 2,
        createdAt: h.clock.now,
      }),
    ]);

    // What accounting writes: settled spend and the last request's time.
    await h.db
      .updateTable('api_keys')
      .set({ used_nano: 13_000_000_001, last_used_at: Date.parse('2026-01-02T10:00:00Z') })
      .where('id', '=', id)
      .execute();
    expect((await h.call('GET', `/keys/${id}`)).body).toMatchObject({
      quota: '12.5',
      used: '13.000000001',
      remaining: '-0.500000001',
      last_used_at: '2026-01-02T10:00:00.000Z',
    });

    const cleared = await h.call('PATCH', `/keys/${id}`, {
      json: {
        user_id: null,
        quota: null,
        ip_allowlist: null,
        rpm_limit: null,
        tpm_limit: null,
        concurrency_limit: null,
      },
    });
    expect(cleared.body).toMatchObject({
      user_id: null,
      quota: null,
      remaining: null,
      used: '13.000000001',
      ip_allowlist: null,
      rpm_limit: null,
      tpm_limit: null,
      concurrency_limit: null,
    });
    expect(h.controlPlane.configSource.current().keys[0]).toMatchObject({
      userId: null,
      quotaNano: null,
      usedNano: 13_000_000_001,
      ipAllowlist: null,
      rpmLimit: null,
    });
  });

  it('a quota given as a JSON number is the same amount as its decimal string', async () => {
    const asNumber = obj((await h.call('POST', '/keys', { json: { name: 'n', quota: 0.1 } })).body);
    const asString = obj((await h.call('POST', '/keys', { json: { name: 's', quota: '0.1' } })).body);
    expect(asNumber.quota).toBe('0.1');
    expect(asString.quota).toBe('0.1');
    const rows = await h.db.selectFrom('api_keys').select('quota_nano').orderBy('id').execute();
    expect(rows.map((r) => Number(r.quota_nano))).toEqual([100_000_000, 100_000_000]);
  });

  it.each([
    ['a negative quota', { quota: '-1' }, 'quota'],
    ['a quota with 10 decimals', { quota: '0.0000000001' }, 'quota'],
    ['a quota that is not a number', { quota: 'ten' }, 'quota'],
    ['a boolean quota', { quota: true }, 'quota'],
    ['a quota above the largest', { quota: '9007199.254740992' }, 'quota'],
    ['a zero rpm limit', { rpm_limit: 0 }, 'rpm_limit'],
    ['a fractional tpm limit', { tpm_limit: 1.5 }, 'tpm_limit'],
    ['a concurrency limit past int32', { concurrency_limit: 2_147_483_648 }, 'concurrency_limit'],
    ['a text user id', { user_id: '1' }, 'user_id'],
    ['an empty allowlist', { ip_allowlist: [] }, 'ip_allowlist'],
    ['a host name in the allowlist', { ip_allowlist: ['10.0.0.1', 'example.com'] }, 'ip_allowlist.1'],
    ['an IPv4 prefix past 32', { ip_allowlist: ['10.0.0.0/33'] }, 'ip_allowlist.0'],
    ['an IPv6 prefix past 128', { ip_allowlist: ['2001:db8::/129'] }, 'ip_allowlist.0'],
    ['a prefix that is not a number', { ip_allowlist: ['10.0.0.0/x'] }, 'ip_allowlist.0'],
    ['an address with a zone id', { ip_allowlist: ['fe80::1%eth0'] }, 'ip_allowlist.0'],
    ['an empty entry', { ip_allowlist: [''] }, 'ip_allowlist.0'],
    [
      '101 allowlist entries',
      { ip_allowlist: Array.from({ length: 101 }, (_, i) => `10.0.${i}.0/24`) },
      'ip_allowlist',
    ],
  ])(
    'when a key is created with %s, then 400 naming %s and nothing is stored',
    async (_what, fields, param) => {
      const res = await h.call('POST', '/keys', { json: { name: 'k', ...fields } });
      expect(res.status).toBe(400);
      expect(errorOf(res.body)).toMatchObject({ type: 'invalid_request_error', param });
      expect(await h.db.selectFrom('api_keys').selectAll().execute()).toEqual([]);
    },
  );

  it('an allowlist of 100 entries, IPv4 and IPv6, CIDRs and single addresses, is accepted', async () => {
    const entries = [
      ...Array.from({ length: 96 }, (_, i) => `10.${i}.0.0/16`),
      '0.0.0.0/0',
      '::/0',
      '2001:db8::1',
      '::ffff:192.0.2.1',
    ];
    const res = await h.call('POST', '/keys', { json: { name: 'k', ip_allowlist: entries } });
    expect(res.status, res.text).toBe(201);
    expect(obj(res.body).ip_allowlist).toEqual(entries);
  });
});

describe('admin GET /keys: pages and filters', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness();
    await h.call('POST', '/groups', { json: { name: 'vip' } });
    const user = obj((await h.call('POST', '/users', { json: { name: 'owner' } })).body);
    // k0..k11: every third in vip, every fourth disabled, the even ones owned by the user.
    for (let i = 0; i < 12; i++) {
      const res = await h.call('POST', '/keys', {
        json: {
          name: i === 5 ? 'Laptop-K5' : `k${i}`,
          ...(i % 3 === 0 && { group: 'vip' }),
          ...(i % 4 === 0 && { enabled: false }),
          ...(i % 2 === 0 && { user_id: user.id }),
        },
      });
      expect(res.status).toBe(201);
    }
  });
  afterAll(async () => {
    await h.close();
  });

  const ALL = ['k0', 'k1', 'k2', 'k3', 'k4', 'Laptop-K5', 'k6', 'k7', 'k8', 'k9', 'k10', 'k11'];

  it('returns every key in id order on one page by default, with next_cursor null', async () => {
    const p = await getPage(h, '/keys');
    expect(p.data.map((k) => k.name)).toEqual(ALL);
    expect(p.next_cursor).toBeNull();
  });

  it('when paged 5 at a time, then the cursor walks every key exactly once', async () => {
    expect(await walkPages(h, '/keys?limit=5')).toEqual({ values: ALL, sizes: [5, 5, 2] });
  });

  it.each([
    ['user_id=1', ['k0', 'k2', 'k4', 'k6', 'k8', 'k10']],
    ['group=vip', ['k0', 'k3', 'k6', 'k9']],
    ['enabled=false', ['k0', 'k4', 'k8']],
    ['enabled=true&group=vip', ['k3', 'k6', 'k9']],
    ['q=LAPTOP', ['Laptop-K5']],
    ['q=k1', ['k1', 'k10', 'k11']],
    ['q=%25', []],
    ['group=nobody', []],
  ])('when filtered by %s, then exactly the matching keys come back, paged alike', async (query, names) => {
    expect((await walkPages(h, `/keys?${query}`)).values).toEqual(names);
    expect((await walkPages(h, `/keys?${query}&limit=2`)).values).toEqual(names);
  });

  it('GET /users/{id}/keys lists the user’s keys, paged and filtered, and 404s for a missing user', async () => {
    expect(await walkPages(h, '/users/1/keys?limit=4')).toEqual({
      values: ['k0', 'k2', 'k4', 'k6', 'k8', 'k10'],
      sizes: [4, 2],
    });
    expect((await walkPages(h, '/users/1/keys?enabled=false')).values).toEqual(['k0', 'k4', 'k8']);
    const missing = await h.call('GET', '/users/99/keys');
    expect(missing.status).toBe(404);
    expect(errorOf(missing.body)).toMatchObject({ code: 'user_not_found' });
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=ten', 'limit'],
    ['cursor=garbage!', 'cursor'],
    ['enabled=yes', 'enabled'],
    ['user_id=0', 'user_id'],
  ])('when GET /keys has %s, then 400 naming %s', async (query, param) => {
    const res = await h.call('GET', `/keys?${query}`);
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({ type: 'invalid_request_error', param });
  });

  it('a cursor from GET /users is refused by GET /keys', async () => {
    await h.call('POST', '/users', { json: { name: 'second' } });
    const users = await getPage(h, '/users?limit=1');
    expect(users.next_cursor).toEqual(expect.any(String));
    const res = await h.call('GET', `/keys?cursor=${encodeURIComponent(String(users.next_cursor))}`);
    expect(res.status).toBe(400);
    expect(errorOf(res.body).param).toBe('cursor');
  });
});

describe('keys on MySQL', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startMysqlAdminHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('pages, filters and money columns read back as on SQLite', async () => {
    await h.call('POST', '/groups', { json: { name: 'vip' } });
    const user = obj((await h.call('POST', '/users', { json: { name: 'maria', group: 'vip' } })).body);
    for (let i = 0; i < 7; i++) {
      const res = await h.call('POST', '/keys', {
        json: {
          name: `Key-${i}`,
          ...(i % 2 === 0 && { user_id: user.id }),
          quota: '9007199.254740991',
          ip_allowlist: ['10.0.0.0/8'],
        },
      });
      expect(res.status, res.text).toBe(201);
    }
    expect(await walkPages(h, '/keys?limit=3')).toEqual({
      values: ['Key-0', 'Key-1', 'Key-2', 'Key-3', 'Key-4', 'Key-5', 'Key-6'],
      sizes: [3, 3, 1],
    });
    expect((await walkPages(h, `/keys?user_id=${String(user.id)}&limit=2`)).values).toEqual([
      'Key-0',
      'Key-2',
      'Key-4',
      'Key-6',
    ]);
    expect((await walkPages(h, '/keys?group=vip&q=key-')).values).toEqual([
      'Key-0',
      'Key-2',
      'Key-4',
      'Key-6',
    ]);
    const first = (await getPage(h, '/keys?limit=1')).data[0];
    expect(first).toMatchObject({ quota: '9007199.254740991', remaining: '9007199.254740991', used: '0' });
    const record = h.controlPlane.configSource.current().keys[0];
    expect(record?.quotaNano).toBe(Number.MAX_SAFE_INTEGER);
    expect(typeof record?.usedNano).toBe('number');
    expect(typeof record?.createdAt).toBe('number');
  });

  it('when a group is deleted while keys are created in it, then never both succeed', async () => {
    for (let round = 0; round < 5; round++) {
      const name = `race-${round}`;
      expect((await h.call('POST', '/groups', { json: { name } })).status).toBe(201);
      const [del, key] = await Promise.all([
        h.call('DELETE', `/groups/${name}`),
        h.call('POST', '/keys', { json: { name: `in-${name}`, group: name } }),
      ]);
      const outcome = [del.status, key.status];
      expect([
        [204, 400],
        [409, 201],
      ]).toContainEqual(outcome);
      const keys = await h.db.selectFrom('api_keys').select('id').where('group_name', '=', name).execute();
      const groups = await h.db.selectFrom('user_groups').select('name').where('name', '=', name).execute();
      // A key exists exactly when its group still does.
      expect(keys.length).toBe(groups.length);
    }
  });
});
