import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type AdminHarness,
  dataOf,
  errorOf,
  startAdminHarness,
  startMysqlAdminHarness,
} from './admin-harness.js';

describe('admin /model-aliases', () => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdminHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('when an alias is PUT, then 201 with the alias, it is listed, and the snapshot maps it', async () => {
    const res = await h.call('PUT', '/model-aliases/gpt-4', { json: { model: 'gpt-4o' } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      alias: 'gpt-4',
      model: 'gpt-4o',
      created_at: '2026-01-02T03:04:05.000Z',
      updated_at: '2026-01-02T03:04:05.000Z',
    });
    expect(dataOf((await h.call('GET', '/model-aliases')).body)).toEqual([res.body]);
    expect(h.controlPlane.configSource.current().modelAliases).toEqual({ 'gpt-4': 'gpt-4o' });
  });

  it('when an existing alias is PUT again, then 200, the model is replaced and created_at is kept', async () => {
    await h.call('PUT', '/model-aliases/claude', { json: { model: 'claude-sonnet-4-5' } });
    h.clock.now += 60_000;
    const res = await h.call('PUT', '/model-aliases/claude', { json: { model: 'claude-opus-4-1' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      model: 'claude-opus-4-1',
      created_at: '2026-01-02T03:04:05.000Z',
      updated_at: '2026-01-02T03:05:05.000Z',
    });
    expect(h.controlPlane.configSource.current().modelAliases).toEqual({ claude: 'claude-opus-4-1' });
  });

  it('aliases are listed by alias and every one is in the snapshot, names with / and : included', async () => {
    await h.call('PUT', '/model-aliases/zeta', { json: { model: 'z-model' } });
    await h.call('PUT', `/model-aliases/${encodeURIComponent('meta/llama-3')}`, {
      json: { model: 'amazon.nova-pro-v1:0' },
    });
    await h.call('PUT', '/model-aliases/__proto__', { json: { model: 'gpt-4o' } });
    const list = dataOf((await h.call('GET', '/model-aliases')).body).map((a) => a.alias);
    expect(list).toEqual(['__proto__', 'meta/llama-3', 'zeta']);
    const aliases = h.controlPlane.configSource.current().modelAliases;
    expect(Object.keys(aliases).sort()).toEqual(['__proto__', 'meta/llama-3', 'zeta']);
    expect(Object.hasOwn(aliases, '__proto__')).toBe(true);
    expect(aliases['meta/llama-3']).toBe('amazon.nova-pro-v1:0');
  });

  it('when an alias is deleted, then 204, it is gone from the list and the snapshot; again is 404', async () => {
    await h.call('PUT', '/model-aliases/gpt-4', { json: { model: 'gpt-4o' } });
    const res = await h.call('DELETE', '/model-aliases/gpt-4');
    expect(res.status).toBe(204);
    expect(dataOf((await h.call('GET', '/model-aliases')).body)).toEqual([]);
    expect(h.controlPlane.configSource.current().modelAliases).toEqual({});
    const again = await h.call('DELETE', '/model-aliases/gpt-4');
    expect(again.status).toBe(404);
    expect(errorOf(again.body)).toMatchObject({ code: 'model_alias_not_found', param: 'alias' });
  });

  it.each([
    ['an alias pointing to itself', 'gpt-4', { model: 'gpt-4' }, 'model'],
    ['a glob as the model', 'gpt-4', { model: 'gpt-4*' }, 'model'],
    ['a glob as the alias', 'gpt-*', { model: 'gpt-4o' }, 'alias'],
    ['an alias with a space', 'gpt%204', { model: 'gpt-4o' }, 'alias'],
    ['a model over 191 characters', 'gpt-4', { model: 'm'.repeat(192) }, 'model'],
    ['an alias over 191 characters', 'a'.repeat(192), { model: 'gpt-4o' }, 'alias'],
    ['an empty model', 'gpt-4', { model: '' }, 'model'],
    ['no model', 'gpt-4', {}, 'model'],
    ['an unknown field', 'gpt-4', { model: 'gpt-4o', note: 'x' }, 'note'],
  ])('when PUT has %s, then 400 naming %s and nothing is stored', async (_what, alias, json, param) => {
    const res = await h.call('PUT', `/model-aliases/${alias}`, { json });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({ type: 'invalid_request_error', param });
    expect(await h.db.selectFrom('model_aliases').selectAll().execute()).toEqual([]);
    expect(h.controlPlane.configSource.current().version).toBe(1);
  });

  it('when two PUTs of a new alias race, then both succeed and exactly one row remains', async () => {
    const [a, b] = await Promise.all([
      h.call('PUT', '/model-aliases/race', { json: { model: 'one' } }),
      h.call('PUT', '/model-aliases/race', { json: { model: 'two' } }),
    ]);
    expect([a?.status, b?.status].sort()).toEqual([200, 201]);
    expect(await h.db.selectFrom('model_aliases').selectAll().execute()).toHaveLength(1);
  });
});

describe('model aliases on MySQL', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startMysqlAdminHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('when several PUTs of one new alias race, then all succeed, one creates it and one row remains', async () => {
    const results = await Promise.all(
      ['one', 'two', 'three', 'four'].map((model) =>
        h.call('PUT', '/model-aliases/race', { json: { model } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 201]);
    const rows = await h.db.selectFrom('model_aliases').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(h.controlPlane.configSource.current().modelAliases).toEqual({ race: rows[0]?.model });
  });
});
