import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { costNano, findPrice, formatUsd } from '@switchyard/core';
import {
  type AdminHarness,
  dataOf,
  errorOf,
  obj,
  startAdminHarness,
  startMysqlAdminHarness,
} from './admin-harness.js';

/** `/prices/{model}` with the model percent-encoded, as clients must for `/`. */
function pricePath(model: string, suffix = ''): string {
  return `/prices/${encodeURIComponent(model)}${suffix}`;
}

describe('admin /prices', () => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdminHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('lists the seeded prices ordered by model, as USD strings, and the snapshot has every one', async () => {
    const list = dataOf((await h.call('GET', '/prices')).body);
    const models = list.map((p) => String(p.model));
    expect(models.length).toBeGreaterThan(20);
    expect(models).toEqual([...models].sort());
    expect(list.find((p) => p.model === 'gpt-4o')).toEqual({
      model: 'gpt-4o',
      input_per_million: '2.5',
      output_per_million: '10',
      cached_input_per_million: '1.25',
      reasoning_per_million: null,
      per_request: '0',
      per_image: '0',
      managed_by: null,
      updated_at: expect.any(String),
    });
    const prices = h.controlPlane.configSource.current().prices;
    expect(prices.map((p) => p.model)).toEqual(models);
    expect(prices.find((p) => p.model === 'gpt-4o')).toEqual({
      model: 'gpt-4o',
      inputNano: 2_500_000_000,
      outputNano: 10_000_000_000,
      cachedInputNano: 1_250_000_000,
      reasoningNano: null,
      perRequestNano: 0,
      perImageNano: 0,
    });
  });

  it('when filtered with q, then only models containing it come back (case-insensitive)', async () => {
    const list = dataOf((await h.call('GET', '/prices?q=CLAUDE-3-5')).body).map((p) => p.model);
    expect(list).toEqual(['claude-3-5-haiku*', 'claude-3-5-sonnet*']);
    expect(dataOf((await h.call('GET', '/prices?q=no-such-model')).body)).toEqual([]);
  });

  it('when a price is PUT for a new model, then 201, exact decimals, GET shows it and the snapshot prices it', async () => {
    const res = await h.call('PUT', '/prices/house-model', {
      json: {
        input_per_million: '0.000001',
        output_per_million: 2.5,
        cached_input_per_million: '0.1',
        reasoning_per_million: 30,
        per_request: '0.002',
        per_image: '0.01',
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      model: 'house-model',
      input_per_million: '0.000001',
      output_per_million: '2.5',
      cached_input_per_million: '0.1',
      reasoning_per_million: '30',
      per_request: '0.002',
      per_image: '0.01',
      managed_by: null,
      updated_at: '2026-01-02T03:04:05.000Z',
    });
    expect((await h.call('GET', '/prices/house-model')).body).toEqual(res.body);
    expect(h.controlPlane.configSource.current().prices).toContainEqual({
      model: 'house-model',
      inputNano: 1_000,
      outputNano: 2_500_000_000,
      cachedInputNano: 100_000_000,
      reasoningNano: 30_000_000_000,
      perRequestNano: 2_000_000,
      perImageNano: 10_000_000,
    });
  });

  it('when a price is PUT again, then 200 and it is replaced whole: omitted optional prices reset', async () => {
    await h.call('PUT', '/prices/house-model', {
      json: { input_per_million: 1, output_per_million: 2, cached_input_per_million: 0.5, per_request: 1 },
    });
    h.clock.now += 60_000;
    const res = await h.call('PUT', '/prices/house-model', {
      json: { input_per_million: '3', output_per_million: '4' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      input_per_million: '3',
      output_per_million: '4',
      cached_input_per_million: null,
      reasoning_per_million: null,
      per_request: '0',
      updated_at: '2026-01-02T03:05:05.000Z',
    });
    const rows = await h.db
      .selectFrom('model_prices')
      .selectAll()
      .where('model', '=', 'house-model')
      .execute();
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]?.created_at)).toBe(Date.parse('2026-01-02T03:04:05.000Z'));
  });

  it('models with `/`, `:` and `*` are path parameters when percent-encoded', async () => {
    for (const model of ['meta/llama-3.1-70b', 'amazon.nova-pro-v1:0', 'acme-*', 'vendor/*:free']) {
      const put = await h.call('PUT', pricePath(model), {
        json: { input_per_million: 1, output_per_million: 1 },
      });
      expect(put.status, model).toBe(201);
      expect(obj(put.body).model).toBe(model);
      expect(obj((await h.call('GET', pricePath(model))).body).model).toBe(model);
    }
    expect((await h.call('DELETE', pricePath('meta/llama-3.1-70b'))).status).toBe(204);
    expect((await h.call('GET', pricePath('meta/llama-3.1-70b'))).status).toBe(404);
    const models = h.controlPlane.configSource.current().prices.map((p) => p.model);
    expect(models).toEqual(expect.arrayContaining(['amazon.nova-pro-v1:0', 'acme-*', 'vendor/*:free']));
    expect(models).not.toContain('meta/llama-3.1-70b');
  });

  it('when a price is deleted, then 204, it leaves the snapshot, and again 404 price_not_found', async () => {
    const version = h.controlPlane.configSource.current().version;
    expect((await h.call('DELETE', '/prices/gpt-4o')).status).toBe(204);
    expect(h.controlPlane.configSource.current().version).toBe(version + 1);
    expect(h.controlPlane.configSource.current().prices.map((p) => p.model)).not.toContain('gpt-4o');
    const again = await h.call('DELETE', '/prices/gpt-4o');
    expect(again.status).toBe(404);
    expect(errorOf(again.body)).toMatchObject({ code: 'price_not_found', param: 'model' });
    expect((await h.call('GET', '/prices/gpt-4o')).status).toBe(404);
  });

  it.each([
    ['no input price', { output_per_million: 1 }, 'input_per_million'],
    ['a negative output price', { input_per_million: 1, output_per_million: -1 }, 'output_per_million'],
    ['10 decimals', { input_per_million: '0.0000000001', output_per_million: 1 }, 'input_per_million'],
    ['a price that is no number', { input_per_million: 'free', output_per_million: 1 }, 'input_per_million'],
    [
      'a null per-request price',
      { input_per_million: 1, output_per_million: 1, per_request: null },
      'per_request',
    ],
    ['an unknown field', { input_per_million: 1, output_per_million: 1, currency: 'EUR' }, 'currency'],
  ])('when PUT has %s, then 400 naming %s and nothing is stored', async (_what, json, param) => {
    const res = await h.call('PUT', '/prices/new-model', { json });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({ type: 'invalid_request_error', param });
    expect(
      await h.db.selectFrom('model_prices').select('model').where('model', '=', 'new-model').execute(),
    ).toEqual([]);
    expect(h.controlPlane.configSource.current().version).toBe(1);
  });

  it.each([
    ['a space', 'my%20model'],
    ['a model over 191 characters', 'm'.repeat(192)],
  ])('when the PUT model has %s, then 400 naming model', async (_what, model) => {
    const res = await h.call('PUT', `/prices/${model}`, {
      json: { input_per_million: 1, output_per_million: 1 },
    });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).param).toBe('model');
  });

  it('when two PUTs of a new model race, then both succeed and exactly one row remains', async () => {
    const body = { json: { input_per_million: 1, output_per_million: 1 } };
    const [a, b] = await Promise.all([
      h.call('PUT', '/prices/race', body),
      h.call('PUT', '/prices/race', body),
    ]);
    expect([a?.status, b?.status].sort()).toEqual([200, 201]);
    expect(
      await h.db.selectFrom('model_prices').select('model').where('model', '=', 'race').execute(),
    ).toHaveLength(1);
  });
});

describe('admin GET /prices/{model}/quote', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness();
    await h.call('PUT', '/prices/acme-large', {
      json: { input_per_million: 2, output_per_million: 8, cached_input_per_million: 0.5 },
    });
    await h.call('PUT', '/prices/acme-*', {
      json: { input_per_million: 1, output_per_million: 1, per_request: '0.01', per_image: '0.002' },
    });
    await h.call('POST', '/groups', { json: { name: 'vip', price_ratio: 1.5 } });
  });
  afterAll(async () => {
    await h.close();
  });

  async function quote(model: string, query: string): Promise<Record<string, unknown>> {
    const res = await h.call('GET', `${pricePath(model, '/quote')}?${query}`);
    expect(res.status, res.text).toBe(200);
    return obj(res.body);
  }

  it('prices prompt, cached, completion and reasoning tokens as the relays do', async () => {
    // (800 × 2 + 200 × 0.5 + 400 × 8 + 100 × 8) / 1e6 USD: reasoning falls back to the output price.
    expect(
      await quote(
        'acme-large',
        'prompt_tokens=1000&cached_tokens=200&completion_tokens=500&reasoning_tokens=100',
      ),
    ).toEqual({ model: 'acme-large', matched: 'acme-large', cost: '0.0057' });
  });

  it('applies a group’s price ratio', async () => {
    expect(
      await quote('acme-large', 'prompt_tokens=1000&cached_tokens=200&completion_tokens=500&group=vip'),
    ).toEqual({
      model: 'acme-large',
      matched: 'acme-large',
      cost: '0.00855',
    });
  });

  it('matches globs, with flat per-request and per-image prices', async () => {
    expect(await quote('acme-small', 'prompt_tokens=10&completion_tokens=0&images=3')).toEqual({
      model: 'acme-small',
      matched: 'acme-*',
      cost: '0.01601',
    });
  });

  it('agrees with core’s findPrice and costNano on the snapshot’s prices, seeded models included', async () => {
    const prices = h.controlPlane.configSource.current().prices;
    for (const model of ['gpt-4o', 'claude-sonnet-4-5-20250929', 'gemini-2.5-flash-lite-001', 'o3']) {
      const price = findPrice(prices, model, null);
      const usage = {
        promptTokens: 123_457,
        cachedTokens: 1_001,
        completionTokens: 9_876,
        reasoningTokens: 321,
        images: 0,
      };
      const got = await quote(
        model,
        'prompt_tokens=123457&cached_tokens=1001&completion_tokens=9876&reasoning_tokens=321',
      );
      expect(got).toEqual({ model, matched: price?.model, cost: formatUsd(costNano(price, usage)) });
    }
  });

  it('with no counts, a request costs its flat price only', async () => {
    expect((await quote('acme-large', '')).cost).toBe('0');
    expect((await quote('acme-x', '')).cost).toBe('0.01');
  });

  it('when no price matches, then 404 price_not_found; an unknown group is 400 unknown_group', async () => {
    const none = await h.call('GET', `${pricePath('mystery-model', '/quote')}?prompt_tokens=1`);
    expect(none.status).toBe(404);
    expect(errorOf(none.body)).toMatchObject({ code: 'price_not_found', param: 'model' });
    const group = await h.call('GET', `${pricePath('acme-large', '/quote')}?group=ghost`);
    expect(group.status).toBe(400);
    expect(errorOf(group.body)).toMatchObject({ code: 'unknown_group', param: 'group' });
  });

  it.each([
    ['prompt_tokens=-1', 'prompt_tokens'],
    ['completion_tokens=1.5', 'completion_tokens'],
    ['cached_tokens=lots', 'cached_tokens'],
    ['images=99999999999999', 'images'],
  ])('when the quote has %s, then 400 naming %s', async (query, param) => {
    const res = await h.call('GET', `${pricePath('acme-large', '/quote')}?${query}`);
    expect(res.status).toBe(400);
    expect(errorOf(res.body).param).toBe(param);
  });
});

describe('prices on MySQL', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startMysqlAdminHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('BIGINT prices read back as exact numbers, up to the largest amount', async () => {
    const res = await h.call('PUT', pricePath('vendor/huge:1'), {
      json: { input_per_million: '9007199.254740991', output_per_million: '0.000000001' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      input_per_million: '9007199.254740991',
      output_per_million: '0.000000001',
    });
    expect(h.controlPlane.configSource.current().prices).toContainEqual({
      model: 'vendor/huge:1',
      inputNano: Number.MAX_SAFE_INTEGER,
      outputNano: 1,
      cachedInputNano: null,
      reasoningNano: null,
      perRequestNano: 0,
      perImageNano: 0,
    });
    const seeded = h.controlPlane.configSource.current().prices.find((p) => p.model === 'gpt-4o');
    expect(seeded).toMatchObject({ inputNano: 2_500_000_000, cachedInputNano: 1_250_000_000 });
  });
});
