import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type AdminHarness,
  errorOf,
  getPage,
  obj,
  startAdminHarness,
  startMysqlAdminHarness,
  walkPages,
} from './admin-harness.js';

async function createUser(h: AdminHarness, json: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await h.call('POST', '/users', { json });
  expect(res.status, res.text).toBe(201);
  return obj(res.body);
}

describe('admin /users', () => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdminHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('when a user is created with only a name, then 201 with the defaults, and the snapshot has it', async () => {
    const res = await h.call('POST', '/users', { json: { name: 'alice' } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(Number),
      name: 'alice',
      email: null,
      group: 'default',
      enabled: true,
      quota: null,
      used: '0',
      remaining: null,
      rpm_limit: null,
      tpm_limit: null,
      concurrency_limit: null,
      keys: 0,
      last_used_at: null,
      managed_by: null,
      created_at: '2026-01-02T03:04:05.000Z',
      updated_at: '2026-01-02T03:04:05.000Z',
    });
    const snapshot = h.controlPlane.configSource.current();
    expect(snapshot.version).toBe(2);
    expect(snapshot.users).toEqual([
      {
        id: obj(res.body).id,
        name: 'alice',
        enabled: true,
        group: 'default',
        quotaNano: null,
        usedNano: 0,
        rpmLimit: null,
        tpmLimit: null,
        concurrencyLimit: null,
        createdAt: h.clock.now,
      },
    ]);
    const one = await h.call('GET', `/users/${String(obj(res.body).id)}`);
    expect(one.body).toEqual(res.body);
  });

  it('when every field is given, then it is stored, shown with money as USD strings and carried by the snapshot', async () => {
    await h.call('POST', '/groups', { json: { name: 'resellers', price_ratio: 0.8 } });
    const user = await createUser(h, {
      name: 'bob',
      email: 'bob@example.com',
      group: 'resellers',
      enabled: false,
      quota: 25.5,
      rpm_limit: 600,
      tpm_limit: 2_000_000,
      concurrency_limit: 16,
    });
    expect(user).toMatchObject({
      email: 'bob@example.com',
      group: 'resellers',
      enabled: false,
      quota: '25.5',
      used: '0',
      remaining: '25.5',
      rpm_limit: 600,
      tpm_limit: 2_000_000,
      concurrency_limit: 16,
    });
    expect(h.controlPlane.configSource.current().users[0]).toMatchObject({
      enabled: false,
      group: 'resellers',
      quotaNano: 25_500_000_000,
      rpmLimit: 600,
      tpmLimit: 2_000_000,
      concurrencyLimit: 16,
    });

    // What accounting writes: settled spend and the last request's time.
    await h.db
      .updateTable('users')
      .set({ used_nano: 1_250_000_001, last_used_at: Date.parse('2026-01-02T09:00:00Z') })
      .execute();
    expect((await h.call('GET', `/users/${String(user.id)}`)).body).toMatchObject({
      used: '1.250000001',
      remaining: '24.249999999',
      last_used_at: '2026-01-02T09:00:00.000Z',
    });
    expect(h.controlPlane.configSource.current().users[0]?.usedNano).toBe(0);
    await h.call('PATCH', `/users/${String(user.id)}`, { json: { enabled: true } });
    expect(h.controlPlane.configSource.current().users[0]).toMatchObject({
      enabled: true,
      usedNano: 1_250_000_001,
    });
  });

  it('when a PATCH changes fields, then only those change, nulls clear limits, and updated_at moves', async () => {
    await h.call('POST', '/groups', { json: { name: 'vip' } });
    const user = await createUser(h, { name: 'carol', quota: '10', rpm_limit: 5, email: 'c@example.com' });
    h.clock.now += 1000;
    const res = await h.call('PATCH', `/users/${String(user.id)}`, {
      json: { name: 'carol-2', group: 'vip', quota: null, rpm_limit: null, tpm_limit: 50, email: null },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: 'carol-2',
      group: 'vip',
      quota: null,
      remaining: null,
      rpm_limit: null,
      tpm_limit: 50,
      email: null,
      enabled: true,
      created_at: '2026-01-02T03:04:05.000Z',
      updated_at: '2026-01-02T03:04:06.000Z',
    });
    expect(h.controlPlane.configSource.current().users[0]).toMatchObject({
      name: 'carol-2',
      group: 'vip',
      quotaNano: null,
      tpmLimit: 50,
    });
  });

  it('when a name is taken, then POST and a renaming PATCH answer 409 user_exists and nothing changes', async () => {
    await createUser(h, { name: 'dave' });
    const other = await createUser(h, { name: 'erin' });
    const dup = await h.call('POST', '/users', { json: { name: 'dave' } });
    expect(dup.status).toBe(409);
    expect(errorOf(dup.body)).toMatchObject({ code: 'user_exists', param: 'name' });
    const rename = await h.call('PATCH', `/users/${String(other.id)}`, { json: { name: 'dave' } });
    expect(rename.status).toBe(409);
    expect(errorOf(rename.body)).toMatchObject({ code: 'user_exists' });
    // Renaming a user to its own name is no conflict.
    expect((await h.call('PATCH', `/users/${String(other.id)}`, { json: { name: 'erin' } })).status).toBe(
      200,
    );
    expect(
      (await h.db.selectFrom('users').select('name').orderBy('id').execute()).map((r) => r.name),
    ).toEqual(['dave', 'erin']);
  });

  it('when the group does not exist, then POST and PATCH answer 400 unknown_group naming group', async () => {
    const res = await h.call('POST', '/users', { json: { name: 'frank', group: 'ghost' } });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({ code: 'unknown_group', param: 'group' });
    expect(await h.db.selectFrom('users').selectAll().execute()).toEqual([]);
    const user = await createUser(h, { name: 'frank' });
    const patch = await h.call('PATCH', `/users/${String(user.id)}`, { json: { group: 'ghost' } });
    expect(patch.status).toBe(400);
    expect(errorOf(patch.body)).toMatchObject({ code: 'unknown_group', param: 'group' });
    expect(h.controlPlane.configSource.current().version).toBe(2);
  });

  it.each([
    ['no name', {}, 'name'],
    ['an empty name', { name: ' ' }, 'name'],
    ['a bad email', { name: 'u', email: 'not-an-email' }, 'email'],
    ['a negative quota', { name: 'u', quota: -5 }, 'quota'],
    ['a quota with 10 decimals', { name: 'u', quota: '1.0000000001' }, 'quota'],
    ['a zero rpm limit', { name: 'u', rpm_limit: 0 }, 'rpm_limit'],
    ['a text tpm limit', { name: 'u', tpm_limit: '100' }, 'tpm_limit'],
    ['a negative concurrency limit', { name: 'u', concurrency_limit: -1 }, 'concurrency_limit'],
    ['a text enabled flag', { name: 'u', enabled: 'yes' }, 'enabled'],
    ['an unknown field', { name: 'u', balance: 3 }, 'balance'],
  ])('when POST /users has %s, then 400 naming %s', async (_what, json, param) => {
    const res = await h.call('POST', '/users', { json });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({ type: 'invalid_request_error', param });
    expect(await h.db.selectFrom('users').selectAll().execute()).toEqual([]);
  });

  it('when a user has keys, then DELETE answers 409 user_has_keys; with cascade=true the user and its keys go', async () => {
    const user = await createUser(h, { name: 'gina' });
    const other = await createUser(h, { name: 'hank' });
    for (const name of ['g1', 'g2']) await h.call('POST', '/keys', { json: { name, user_id: user.id } });
    await h.call('POST', '/keys', { json: { name: 'h1', user_id: other.id } });
    expect((await h.call('GET', `/users/${String(user.id)}`)).body).toMatchObject({ keys: 2 });

    const refused = await h.call('DELETE', `/users/${String(user.id)}`);
    expect(refused.status).toBe(409);
    expect(errorOf(refused.body)).toMatchObject({ code: 'user_has_keys' });
    const badFlag = await h.call('DELETE', `/users/${String(user.id)}?cascade=1`);
    expect(badFlag.status).toBe(400);
    expect(errorOf(badFlag.body).param).toBe('cascade');
    expect(h.controlPlane.configSource.current().keys).toHaveLength(3);

    expect((await h.call('DELETE', `/users/${String(user.id)}?cascade=true`)).status).toBe(204);
    expect((await h.call('GET', `/users/${String(user.id)}`)).status).toBe(404);
    const snapshot = h.controlPlane.configSource.current();
    expect(snapshot.keys.map((k) => k.name)).toEqual(['h1']);
    expect(snapshot.users.map((u) => u.name)).toEqual(['hank']);
  });

  it('when a user without keys is deleted, then 204, and again 404', async () => {
    const user = await createUser(h, { name: 'ivy' });
    expect((await h.call('DELETE', `/users/${String(user.id)}`)).status).toBe(204);
    const again = await h.call('DELETE', `/users/${String(user.id)}`);
    expect(again.status).toBe(404);
    expect(errorOf(again.body)).toMatchObject({ code: 'user_not_found', param: 'id' });
    expect(h.controlPlane.configSource.current().users).toEqual([]);
  });

  it.each([
    ['GET', '/users/42'],
    ['PATCH', '/users/42'],
    ['DELETE', '/users/42'],
    ['GET', '/users/abc'],
    ['POST', '/users/42/topup'],
    ['GET', '/users/42/keys'],
  ])('when %s %s names no user, then 404 user_not_found', async (method, path) => {
    const json = method === 'PATCH' ? { enabled: false } : method === 'POST' ? { amount: '1' } : undefined;
    const res = await h.call(method, path, json === undefined ? {} : { json });
    expect(res.status).toBe(404);
    expect(errorOf(res.body)).toMatchObject({ code: 'user_not_found', type: 'invalid_request_error' });
  });

  it('when a user is topped up, then the amount is added to its quota exactly and the snapshot has the new quota', async () => {
    const user = await createUser(h, { name: 'jack', quota: '0.1' });
    const res = await h.call('POST', `/users/${String(user.id)}/topup`, { json: { amount: '0.2' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ quota: '0.3', remaining: '0.3' });
    const again = await h.call('POST', `/users/${String(user.id)}/topup`, { json: { amount: 5 } });
    expect(again.body).toMatchObject({ quota: '5.3' });
    expect(h.controlPlane.configSource.current().users[0]?.quotaNano).toBe(5_300_000_000);
  });

  it('when many top-ups race, then every one counts', async () => {
    const user = await createUser(h, { name: 'kim', quota: '0' });
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        h.call('POST', `/users/${String(user.id)}/topup`, { json: { amount: '1.5' } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 200));
    expect((await h.call('GET', `/users/${String(user.id)}`)).body).toMatchObject({ quota: '15' });
  });

  it('when the quota is unlimited, then a top-up answers 409 quota_unlimited and it stays unlimited', async () => {
    const user = await createUser(h, { name: 'lee' });
    const res = await h.call('POST', `/users/${String(user.id)}/topup`, { json: { amount: '10' } });
    expect(res.status).toBe(409);
    expect(errorOf(res.body)).toMatchObject({ code: 'quota_unlimited' });
    expect((await h.call('GET', `/users/${String(user.id)}`)).body).toMatchObject({ quota: null });
    expect(h.controlPlane.configSource.current().version).toBe(2);
  });

  it.each([
    ['a zero amount', { amount: '0' }, 'amount', 400],
    ['a negative amount', { amount: -1 }, 'amount', 400],
    ['no amount', {}, 'amount', 400],
    ['an unknown field', { amount: '1', note: 'x' }, 'note', 400],
    ['an amount past the largest quota', { amount: '9007199.254740991' }, 'amount', 400],
  ])(
    'when a top-up has %s, then %s is named and the quota is unchanged',
    async (_what, json, param, status) => {
      const user = await createUser(h, { name: 'mo', quota: '1' });
      const res = await h.call('POST', `/users/${String(user.id)}/topup`, { json });
      expect(res.status).toBe(status);
      expect(errorOf(res.body).param).toBe(param);
      expect((await h.call('GET', `/users/${String(user.id)}`)).body).toMatchObject({ quota: '1' });
    },
  );
});

describe('admin GET /users: pages and filters', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness();
    await h.call('POST', '/groups', { json: { name: 'vip' } });
    // u0..u9: every third in vip, the odd ones disabled, emails at two domains.
    for (let i = 0; i < 10; i++) {
      await createUser(h, {
        name: i === 4 ? 'Zed-Four' : `u${i}`,
        email: i % 2 === 0 ? `user${i}@Example.com` : `user${i}@other.org`,
        ...(i % 3 === 0 && { group: 'vip' }),
        ...(i % 2 === 1 && { enabled: false }),
      });
    }
  });
  afterAll(async () => {
    await h.close();
  });

  const ALL = ['u0', 'u1', 'u2', 'u3', 'Zed-Four', 'u5', 'u6', 'u7', 'u8', 'u9'];

  it('returns every user in id order by default, and pages with the cursor', async () => {
    const p = await getPage(h, '/users');
    expect(p.data.map((u) => u.name)).toEqual(ALL);
    expect(p.next_cursor).toBeNull();
    expect(await walkPages(h, '/users?limit=4')).toEqual({ values: ALL, sizes: [4, 4, 2] });
    expect(await walkPages(h, '/users?limit=10')).toEqual({ values: ALL, sizes: [10] });
  });

  it.each([
    ['group=vip', ['u0', 'u3', 'u6', 'u9']],
    ['enabled=true', ['u0', 'u2', 'Zed-Four', 'u6', 'u8']],
    ['enabled=false&group=vip', ['u3', 'u9']],
    ['q=zed', ['Zed-Four']],
    ['q=EXAMPLE.COM', ['u0', 'u2', 'Zed-Four', 'u6', 'u8']],
    ['q=user1', ['u1']],
    ['q=_', []],
  ])('when filtered by %s, then exactly the matching users come back, paged alike', async (query, names) => {
    expect((await walkPages(h, `/users?${query}`)).values).toEqual(names);
    expect((await walkPages(h, `/users?${query}&limit=1`)).values).toEqual(names);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['cursor=abc', 'cursor'],
    ['enabled=1', 'enabled'],
  ])('when GET /users has %s, then 400 naming %s', async (query, param) => {
    const res = await h.call('GET', `/users?${query}`);
    expect(res.status).toBe(400);
    expect(errorOf(res.body).param).toBe(param);
  });
});

describe('users on MySQL', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startMysqlAdminHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('when several POSTs of one new name race, then exactly one creates it and the others answer 409 user_exists', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        h.call('POST', '/users', { json: { name: 'racer', email: `r${i}@example.com` } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) {
      expect(errorOf(r.body)).toMatchObject({ code: 'user_exists', param: 'name' });
    }
    expect(await h.db.selectFrom('users').select('id').where('name', '=', 'racer').execute()).toHaveLength(1);
  });

  it('pages and filters as on SQLite, and money and time columns read back as numbers', async () => {
    for (let i = 0; i < 5; i++) await createUser(h, { name: `Maria-${i}`, quota: '9007199.254740991' });
    expect(await walkPages(h, '/users?q=maria-&limit=2')).toEqual({
      values: ['Maria-0', 'Maria-1', 'Maria-2', 'Maria-3', 'Maria-4'],
      sizes: [2, 2, 1],
    });
    const record = h.controlPlane.configSource.current().users.find((u) => u.name === 'Maria-0');
    expect(record?.quotaNano).toBe(Number.MAX_SAFE_INTEGER);
    expect(typeof record?.usedNano).toBe('number');
    expect(typeof record?.createdAt).toBe('number');
  });

  it('when top-ups race, then every one counts', async () => {
    const user = await createUser(h, { name: 'topped', quota: '0.000000001' });
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        h.call('POST', `/users/${String(user.id)}/topup`, { json: { amount: '0.25' } }),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect((await h.call('GET', `/users/${String(user.id)}`)).body).toMatchObject({ quota: '2.000000001' });
  });

  it('when a user is deleted while keys are created for it, then no key is left without its user', async () => {
    for (let round = 0; round < 5; round++) {
      const user = await createUser(h, { name: `owner-${round}` });
      const [del, key] = await Promise.all([
        h.call('DELETE', `/users/${String(user.id)}`),
        h.call('POST', '/keys', { json: { name: `k-${round}`, user_id: user.id } }),
      ]);
      expect([
        [204, 400],
        [409, 201],
      ]).toContainEqual([del.status, key.status]);
      const keys = await h.db
        .selectFrom('api_keys')
        .select('id')
        .where('user_id', '=', Number(user.id))
        .execute();
      const users = await h.db.selectFrom('users').select('id').where('id', '=', Number(user.id)).execute();
      expect(keys.length).toBe(users.length);
    }
  });
});
