import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AdminHarness, channelBody, dataOf, errorOf, obj, startAdminHarness } from './admin-harness.js';

describe('admin /groups', () => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdminHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('after migration there is the default group at ratio 1, and the snapshot lists it', async () => {
    const list = dataOf((await h.call('GET', '/groups')).body);
    expect(list).toEqual([
      {
        name: 'default',
        description: 'Keys and users without another group',
        price_ratio: 1,
        keys: 0,
        users: 0,
        channels: 0,
        managed_by: null,
        created_at: expect.any(String),
        updated_at: expect.any(String),
      },
    ]);
    expect(h.controlPlane.configSource.current().groups).toEqual([{ name: 'default', ratioPpm: 1_000_000 }]);
  });

  it('when a group is created, then 201 with its view, it is listed by name, and the snapshot carries its ratio', async () => {
    const res = await h.call('POST', '/groups', {
      json: { name: 'vip', description: 'Paying customers', price_ratio: '1.25' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      name: 'vip',
      description: 'Paying customers',
      price_ratio: 1.25,
      keys: 0,
      users: 0,
      channels: 0,
      managed_by: null,
      created_at: '2026-01-02T03:04:05.000Z',
      updated_at: '2026-01-02T03:04:05.000Z',
    });
    await h.call('POST', '/groups', { json: { name: 'batch.low-prio_2', price_ratio: 0.5 } });
    expect(dataOf((await h.call('GET', '/groups')).body).map((g) => g.name)).toEqual([
      'batch.low-prio_2',
      'default',
      'vip',
    ]);
    expect(h.controlPlane.configSource.current().groups).toEqual([
      { name: 'batch.low-prio_2', ratioPpm: 500_000 },
      { name: 'default', ratioPpm: 1_000_000 },
      { name: 'vip', ratioPpm: 1_250_000 },
    ]);
    expect((await h.call('GET', '/groups/vip')).body).toEqual(res.body);
  });

  it('when no price_ratio is given, then it is 1; 0 (free) is allowed', async () => {
    expect((await h.call('POST', '/groups', { json: { name: 'plain' } })).body).toMatchObject({
      price_ratio: 1,
      description: null,
    });
    expect((await h.call('POST', '/groups', { json: { name: 'free', price_ratio: 0 } })).body).toMatchObject({
      price_ratio: 0,
    });
  });

  it('when a group of that name exists, then 409 group_exists', async () => {
    await h.call('POST', '/groups', { json: { name: 'vip' } });
    const res = await h.call('POST', '/groups', { json: { name: 'vip', price_ratio: 2 } });
    expect(res.status).toBe(409);
    expect(errorOf(res.body)).toMatchObject({ code: 'group_exists', param: 'name' });
    expect((await h.call('GET', '/groups/vip')).body).toMatchObject({ price_ratio: 1 });
  });

  it('when two POSTs of one new group race, then one creates it and the other answers 409', async () => {
    const results = await Promise.all([
      h.call('POST', '/groups', { json: { name: 'race' } }),
      h.call('POST', '/groups', { json: { name: 'race' } }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
  });

  it.each([
    ['a space in the name', { name: 'vip team' }, 'name'],
    ['a slash in the name', { name: 'a/b' }, 'name'],
    ['a name of 65 characters', { name: 'g'.repeat(65) }, 'name'],
    ['an empty name', { name: '' }, 'name'],
    ['a negative ratio', { name: 'g', price_ratio: -1 }, 'price_ratio'],
    ['a ratio above 1000', { name: 'g', price_ratio: 1000.5 }, 'price_ratio'],
    ['a ratio with 7 decimals', { name: 'g', price_ratio: '1.0000001' }, 'price_ratio'],
    ['a boolean ratio', { name: 'g', price_ratio: true }, 'price_ratio'],
    ['a description over 512 characters', { name: 'g', description: 'd'.repeat(513) }, 'description'],
    ['an unknown field', { name: 'g', ratio: 2 }, 'ratio'],
  ])('when POST /groups has %s, then 400 naming %s', async (_what, json, param) => {
    const res = await h.call('POST', '/groups', { json });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({ type: 'invalid_request_error', param });
    expect(h.controlPlane.configSource.current().version).toBe(1);
  });

  it('when a group is patched, then its description and ratio change, the name cannot, and the snapshot follows', async () => {
    await h.call('POST', '/groups', { json: { name: 'vip', description: 'x' } });
    h.clock.now += 1000;
    const res = await h.call('PATCH', '/groups/vip', { json: { price_ratio: 0.75, description: null } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      price_ratio: 0.75,
      description: null,
      updated_at: '2026-01-02T03:04:06.000Z',
    });
    expect(h.controlPlane.configSource.current().groups).toContainEqual({ name: 'vip', ratioPpm: 750_000 });
    const rename = await h.call('PATCH', '/groups/vip', { json: { name: 'vvip' } });
    expect(rename.status).toBe(400);
    expect(errorOf(rename.body).param).toBe('name');
  });

  it('counts the keys and users in a group and the channels that list it', async () => {
    await h.call('POST', '/groups', { json: { name: 'vip' } });
    const user = obj((await h.call('POST', '/users', { json: { name: 'u', group: 'vip' } })).body);
    await h.call('POST', '/keys', { json: { name: 'k1', user_id: user.id } });
    await h.call('POST', '/keys', { json: { name: 'k2', group: 'vip' } });
    await h.call('POST', '/keys', { json: { name: 'k3' } });
    await h.call('POST', '/channels', { json: channelBody({ name: 'c1', groups: ['vip', 'default'] }) });
    await h.call('POST', '/channels', { json: channelBody({ name: 'c2', groups: ['vip'] }) });
    await h.call('POST', '/channels', { json: channelBody({ name: 'c3' }) });
    expect((await h.call('GET', '/groups/vip')).body).toMatchObject({ keys: 2, users: 1, channels: 2 });
    const list = dataOf((await h.call('GET', '/groups')).body);
    expect(list.map((g) => [g.name, g.keys, g.users, g.channels])).toEqual([
      ['default', 1, 0, 2],
      ['vip', 2, 1, 2],
    ]);
  });

  it('channels may name groups that do not exist (yet)', async () => {
    const res = await h.call('POST', '/channels', { json: channelBody({ groups: ['future'] }) });
    expect(res.status).toBe(201);
    expect(obj(res.body).groups).toEqual(['future']);
    expect((await h.call('GET', '/groups/future')).status).toBe(404);
  });

  it('when keys, users or channels use a group, then DELETE answers 409 group_in_use until none does', async () => {
    await h.call('POST', '/groups', { json: { name: 'vip' } });
    const key = obj((await h.call('POST', '/keys', { json: { name: 'k', group: 'vip' } })).body);
    const user = obj((await h.call('POST', '/users', { json: { name: 'u', group: 'vip' } })).body);
    const channel = obj((await h.call('POST', '/channels', { json: channelBody({ groups: ['vip'] }) })).body);

    const inUse = async () => {
      const res = await h.call('DELETE', '/groups/vip');
      expect(res.status).toBe(409);
      expect(errorOf(res.body)).toMatchObject({ code: 'group_in_use', param: 'name' });
    };
    await inUse();
    await h.call('PATCH', `/keys/${String(key.id)}`, { json: { group: 'default' } });
    await inUse();
    await h.call('DELETE', `/users/${String(user.id)}`);
    await inUse();
    await h.call('PATCH', `/channels/${String(channel.id)}`, { json: { groups: ['default'] } });
    expect((await h.call('DELETE', '/groups/vip')).status).toBe(204);
    expect((await h.call('GET', '/groups/vip')).status).toBe(404);
    expect(h.controlPlane.configSource.current().groups.map((g) => g.name)).toEqual(['default']);
  });

  it('the default group cannot be deleted', async () => {
    const res = await h.call('DELETE', '/groups/default');
    expect(res.status).toBe(409);
    expect(errorOf(res.body)).toMatchObject({ code: 'default_group' });
    expect(dataOf((await h.call('GET', '/groups')).body).map((g) => g.name)).toEqual(['default']);
  });

  it.each([
    ['GET', '/groups/nope'],
    ['PATCH', '/groups/nope'],
    ['DELETE', '/groups/nope'],
    ['GET', '/groups/not%20valid'],
  ])('when %s %s names no group, then 404 group_not_found', async (method, path) => {
    const res = await h.call(method, path, method === 'PATCH' ? { json: { price_ratio: 2 } } : {});
    expect(res.status).toBe(404);
    expect(errorOf(res.body)).toMatchObject({ code: 'group_not_found', param: 'name' });
  });

  it('when a group is deleted, then keys and users can no longer be put in it', async () => {
    await h.call('POST', '/groups', { json: { name: 'gone' } });
    expect((await h.call('DELETE', '/groups/gone')).status).toBe(204);
    const key = await h.call('POST', '/keys', { json: { name: 'k', group: 'gone' } });
    expect(errorOf(key.body)).toMatchObject({ code: 'unknown_group', param: 'group' });
    const user = await h.call('POST', '/users', { json: { name: 'u', group: 'gone' } });
    expect(errorOf(user.body)).toMatchObject({ code: 'unknown_group', param: 'group' });
  });
});
