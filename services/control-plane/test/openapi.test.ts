import type { Router } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminHarness, channelBody, startAdminHarness } from './admin-harness.js';
import { MemoryCoordinationStore } from '@switchyard/adapters';
import { PROVIDER_IDS } from '@switchyard/core';
import { AWS_CREDENTIAL } from './credential-fixtures.js';
import { checkSchema, resolveRef } from './json-schema-check.js';
import { OPENAPI as doc, requestSchema, responseSchema } from './openapi-document.js';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function documentedOperations(): string[] {
  const paths = doc.paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((k) => HTTP_METHODS.includes(k))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}

/** Every route on an express 5 router, as `METHOD /path/{param}`. */
function routerOperations(router: Router): string[] {
  return router.stack.flatMap((layer) => {
    if (layer.route === undefined) return [];
    const route = layer.route as unknown as { path: string; methods: Record<string, boolean> };
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    return Object.entries(route.methods)
      .filter(([, on]) => on)
      .map(([method]) => `${method.toUpperCase()} ${path}`);
  });
}

describe('openapi.json', () => {
  let h: AdminHarness;
  const coordination = new MemoryCoordinationStore();
  beforeAll(async () => {
    h = await startAdminHarness({ coordination });
  });
  afterAll(async () => {
    await h.close();
  });

  it('is an OpenAPI 3.1 document with a bearer security scheme applied to every operation', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const schemes = (doc.components as { securitySchemes: Record<string, { type: string; scheme: string }> })
      .securitySchemes;
    const [name, scheme] = Object.entries(schemes)[0] ?? [];
    expect(scheme).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(doc.security).toEqual([{ [name ?? '']: [] }]);
  });

  it('when the router and the document are compared, then they list exactly the same operations', () => {
    // The dashboard router is mounted at /v1/dashboard; the document lists it as /dashboard/... under /v1.
    const fromRouter = [
      ...routerOperations(h.controlPlane.adminRouter()),
      ...routerOperations(h.controlPlane.dashboardRouter()).map((op) => op.replace(' /', ' /dashboard/')),
    ].sort();
    expect(fromRouter.length).toBeGreaterThanOrEqual(12);
    expect(documentedOperations().sort()).toEqual(fromRouter);
  });

  it('documents 401 and 500 on every operation, and 404 on every operation with an {id}', () => {
    const paths = doc.paths as Record<string, Record<string, { responses?: Record<string, unknown> }>>;
    for (const op of documentedOperations()) {
      const [method = '', path = ''] = op.split(' ');
      const responses = paths[path]?.[method.toLowerCase()]?.responses ?? {};
      expect(Object.keys(responses), op).toEqual(expect.arrayContaining(['401', '500']));
      if (path.includes('{id}')) expect(Object.keys(responses), op).toContain('404');
    }
  });

  it('the test checker itself rejects a wrong type, a missing required field and an undocumented field', () => {
    const schema = resolveRef('#/components/schemas/Account', doc);
    const account = {
      id: 1,
      name: 'a',
      enabled: true,
      kind: 'api_key',
      disabled_reason: null,
      disabled_by: null,
      proxy_id: null,
      managed_by: null,
    };
    const { enabled: _enabled, ...withoutEnabled } = account;
    expect(checkSchema(account, schema, doc)).toEqual([]);
    expect(checkSchema({ ...account, id: '1' }, schema, doc)).toHaveLength(1);
    expect(checkSchema(withoutEnabled, schema, doc)).toHaveLength(1);
    expect(checkSchema({ ...account, api_key: 'x' }, schema, doc)).toHaveLength(1);
    expect(checkSchema({ ...account, disabled_by: 'someone' }, schema, doc)).toHaveLength(1);
    expect(checkSchema(null, resolveRef('#/components/schemas/UsagePage', doc), doc)).toHaveLength(1);
  });

  it('real channel responses (create, get, list, patch) match their documented schemas', async () => {
    const body = channelBody({ model_mapping: { 'gpt-4': 'gpt-4o' } });
    expect(checkSchema(body, requestSchema('POST', '/channels'), doc)).toEqual([]);
    const created = await h.call('POST', '/channels', { json: body });
    expect(created.status).toBe(201);
    expect(checkSchema(created.body, responseSchema('POST', '/channels', '201'), doc)).toEqual([]);
    const id = (created.body as { id: number }).id;

    const got = await h.call('GET', `/channels/${id}`);
    expect(checkSchema(got.body, responseSchema('GET', '/channels/{id}', '200'), doc)).toEqual([]);
    const list = await h.call('GET', '/channels');
    expect(checkSchema(list.body, responseSchema('GET', '/channels', '200'), doc)).toEqual([]);
    const patch = { enabled: false, weight: 3 };
    expect(checkSchema(patch, requestSchema('PATCH', '/channels/{id}'), doc)).toEqual([]);
    const patched = await h.call('PATCH', `/channels/${id}`, { json: patch });
    expect(checkSchema(patched.body, responseSchema('PATCH', '/channels/{id}', '200'), doc)).toEqual([]);
  });

  it('a channel with options and provider defaults (no base_url, no models) matches its documented schemas, create and patch', async () => {
    const body = {
      name: 'bedrock',
      provider: 'bedrock',
      options: { region: 'eu-west-1' },
      models: ['amazon.nova-pro-v1:0'],
      accounts: [{ api_key: AWS_CREDENTIAL }],
    };
    expect(checkSchema(body, requestSchema('POST', '/channels'), doc)).toEqual([]);
    const created = await h.call('POST', '/channels', { json: body });
    expect(created.status).toBe(201);
    expect(checkSchema(created.body, responseSchema('POST', '/channels', '201'), doc)).toEqual([]);
    const minimal = { name: 'anthropic', provider: 'anthropic', accounts: [{ api_key: 'sk-ant-x' }] };
    expect(checkSchema(minimal, requestSchema('POST', '/channels'), doc)).toEqual([]);
    expect((await h.call('POST', '/channels', { json: minimal })).status).toBe(201);
    const patch = { options: { region: 'us-west-2' } };
    expect(checkSchema(patch, requestSchema('PATCH', '/channels/{id}'), doc)).toEqual([]);
    const patched = await h.call('PATCH', `/channels/${(created.body as { id: number }).id}`, {
      json: patch,
    });
    expect(checkSchema(patched.body, responseSchema('PATCH', '/channels/{id}', '200'), doc)).toEqual([]);
  });

  it('the documented provider enum is exactly PROVIDER_IDS, and GET /providers matches its schema', async () => {
    expect(resolveRef('#/components/schemas/ProviderId', doc).enum).toEqual([...PROVIDER_IDS]);
    const res = await h.call('GET', '/providers');
    expect(res.status).toBe(200);
    expect(checkSchema(res.body, responseSchema('GET', '/providers', '200'), doc)).toEqual([]);
    expect(
      checkSchema({ data: [{ id: 'cohere' }] }, responseSchema('GET', '/providers', '200'), doc),
    ).not.toEqual([]);
  });

  it('real key responses (create, get, list) match their documented schemas', async () => {
    const body = { name: 'ci', models: ['gpt-4o*'], expires_at: '2030-01-31T00:00:00Z' };
    expect(checkSchema(body, requestSchema('POST', '/keys'), doc)).toEqual([]);
    const created = await h.call('POST', '/keys', { json: body });
    expect(created.status).toBe(201);
    expect(checkSchema(created.body, responseSchema('POST', '/keys', '201'), doc)).toEqual([]);
    await h.call('POST', '/keys', { json: { name: 'all-models' } });
    const list = await h.call('GET', '/keys');
    expect(checkSchema(list.body, responseSchema('GET', '/keys', '200'), doc)).toEqual([]);
    const got = await h.call('GET', `/keys/${(created.body as { id: number }).id}`);
    expect(checkSchema(got.body, responseSchema('GET', '/keys/{id}', '200'), doc)).toEqual([]);
  });

  it('a real usage page matches its documented schema, nullable fields included', async () => {
    await h.db
      .insertInto('usage_logs')
      .values([
        {
          request_id: 'req-ok',
          key_id: 1,
          channel_id: 1,
          account_id: 1,
          model: 'gpt-4o',
          upstream_model: 'gpt-4o-2024-08-06',
          prompt_tokens: 10,
          completion_tokens: 5,
          total_tokens: 15,
          cached_tokens: 4,
          reasoning_tokens: 2,
          status: 'ok',
          http_status: 200,
          latency_ms: 120,
          stream: 1,
          error: null,
          created_at: Date.parse('2026-01-02T00:00:00Z'),
        },
        {
          request_id: 'req-failed',
          key_id: 1,
          channel_id: null,
          account_id: null,
          model: 'nope',
          upstream_model: null,
          prompt_tokens: 0,
          completion_tokens: 0,
          total_tokens: 0,
          cached_tokens: 0,
          reasoning_tokens: 0,
          status: 'error',
          http_status: 404,
          latency_ms: 2,
          stream: 0,
          error: 'model_not_found',
          created_at: Date.parse('2026-01-02T00:00:01Z'),
        },
      ])
      .execute();
    const page = await h.call('GET', '/usage?limit=1');
    expect((page.body as { next_cursor: unknown }).next_cursor).toEqual(expect.any(String));
    expect(checkSchema(page.body, responseSchema('GET', '/usage', '200'), doc)).toEqual([]);
    const all = await h.call('GET', '/usage');
    expect((all.body as { data: unknown[] }).data).toHaveLength(2);
    expect(checkSchema(all.body, responseSchema('GET', '/usage', '200'), doc)).toEqual([]);
  });

  it('a channel with every routing field (groups, strategy, stickiness, timeouts, breaker) matches its documented schemas, create and patch', async () => {
    const body = channelBody({
      name: 'routed',
      groups: ['vip', 'batch'],
      account_strategy: 'fill-first',
      sticky_sessions: true,
      connect_timeout_ms: 5000,
      first_byte_timeout_ms: null,
      idle_timeout_ms: 90000,
      breaker: { error_threshold_percent: 25, window_ms: 20000 },
    });
    expect(checkSchema(body, requestSchema('POST', '/channels'), doc)).toEqual([]);
    const created = await h.call('POST', '/channels', { json: body });
    expect(created.status).toBe(201);
    expect(checkSchema(created.body, responseSchema('POST', '/channels', '201'), doc)).toEqual([]);
    const patch = { breaker: null, connect_timeout_ms: null, account_strategy: 'round-robin' };
    expect(checkSchema(patch, requestSchema('PATCH', '/channels/{id}'), doc)).toEqual([]);
    const patched = await h.call('PATCH', `/channels/${(created.body as { id: number }).id}`, {
      json: patch,
    });
    expect(patched.status).toBe(200);
    expect(checkSchema(patched.body, responseSchema('PATCH', '/channels/{id}', '200'), doc)).toEqual([]);
  });

  it('a key with a pinned channel and excluded channels matches its documented schemas, create and patch', async () => {
    const body = { name: 'pinned', pinned_channel_id: 1, excluded_channel_ids: [2, 3] };
    expect(checkSchema(body, requestSchema('POST', '/keys'), doc)).toEqual([]);
    const created = await h.call('POST', '/keys', { json: body });
    expect(created.status).toBe(201);
    expect(checkSchema(created.body, responseSchema('POST', '/keys', '201'), doc)).toEqual([]);
    const patch = { pinned_channel_id: null, excluded_channel_ids: [] };
    expect(checkSchema(patch, requestSchema('PATCH', '/keys/{id}'), doc)).toEqual([]);
    const patched = await h.call('PATCH', `/keys/${(created.body as { id: number }).id}`, { json: patch });
    expect(checkSchema(patched.body, responseSchema('PATCH', '/keys/{id}', '200'), doc)).toEqual([]);
  });

  it('real account, health and proxy responses match their documented schemas, errors included', async () => {
    const channel = await h.call('POST', '/channels', { json: channelBody({ name: 'with-proxies' }) });
    const channelId = (channel.body as { id: number }).id;

    const proxyBody = { name: 'socks', url: 'socks5://user:pw@proxy.example:1080', max_accounts: 1 };
    expect(checkSchema(proxyBody, requestSchema('POST', '/proxies'), doc)).toEqual([]);
    const proxy = await h.call('POST', '/proxies', { json: proxyBody });
    expect(proxy.status).toBe(201);
    expect(checkSchema(proxy.body, responseSchema('POST', '/proxies', '201'), doc)).toEqual([]);
    const proxyId = (proxy.body as { id: number }).id;

    const accountBody = { name: 'second', api_key: 'sk-second-key', proxy_id: 'auto' };
    expect(checkSchema(accountBody, requestSchema('POST', `/channels/{id}/accounts`), doc)).toEqual([]);
    const account = await h.call('POST', `/channels/${channelId}/accounts`, { json: accountBody });
    expect(account.status).toBe(201);
    expect(checkSchema(account.body, responseSchema('POST', '/channels/{id}/accounts', '201'), doc)).toEqual(
      [],
    );
    const accountId = (account.body as { id: number }).id;

    const full = await h.call('POST', `/channels/${channelId}/accounts`, {
      json: { api_key: 'sk-third-key', proxy_id: proxyId },
    });
    expect(full.status).toBe(409);
    expect(checkSchema(full.body, responseSchema('POST', '/channels/{id}/accounts', '409'), doc)).toEqual([]);
    const inUse = await h.call('DELETE', `/proxies/${proxyId}`);
    expect(inUse.status).toBe(409);
    expect(checkSchema(inUse.body, responseSchema('DELETE', '/proxies/{id}', '409'), doc)).toEqual([]);

    await coordination.coolDown(`acct:${accountId}`, 60_000);
    await coordination.reportHealth(
      `acct:${accountId}`,
      'relay-a',
      JSON.stringify({
        state: 'open',
        requests: 10,
        failures: 6,
        errorRate: 0.6,
        lastError: 'upstream 502',
        lastErrorAt: Date.parse('2026-01-02T03:00:00Z'),
        lastStatus: 502,
        updatedAt: Date.parse('2026-01-02T03:00:01Z'),
      }),
      60_000,
    );
    const one = await h.call('GET', `/accounts/${accountId}`);
    expect((one.body as { health: { breaker: unknown[] } }).health.breaker).toHaveLength(1);
    expect(checkSchema(one.body, responseSchema('GET', '/accounts/{id}', '200'), doc)).toEqual([]);
    const list = await h.call('GET', `/channels/${channelId}/accounts`);
    expect(checkSchema(list.body, responseSchema('GET', '/channels/{id}/accounts', '200'), doc)).toEqual([]);
    const health = await h.call('GET', `/channels/${channelId}/health`);
    expect(checkSchema(health.body, responseSchema('GET', '/channels/{id}/health', '200'), doc)).toEqual([]);

    const patch = { name: 'renamed', api_key: 'sk-rotated-key', proxy_id: null };
    expect(checkSchema(patch, requestSchema('PATCH', '/accounts/{id}'), doc)).toEqual([]);
    const patched = await h.call('PATCH', `/accounts/${accountId}`, { json: patch });
    expect(checkSchema(patched.body, responseSchema('PATCH', '/accounts/{id}', '200'), doc)).toEqual([]);
    const disable = { reason: 'quota used up' };
    expect(checkSchema(disable, requestSchema('POST', '/accounts/{id}/disable'), doc)).toEqual([]);
    const disabled = await h.call('POST', `/accounts/${accountId}/disable`, { json: disable });
    expect(checkSchema(disabled.body, responseSchema('POST', '/accounts/{id}/disable', '200'), doc)).toEqual(
      [],
    );
    const enabled = await h.call('POST', `/accounts/${accountId}/enable`);
    expect(checkSchema(enabled.body, responseSchema('POST', '/accounts/{id}/enable', '200'), doc)).toEqual(
      [],
    );

    const proxies = await h.call('GET', '/proxies');
    expect(checkSchema(proxies.body, responseSchema('GET', '/proxies', '200'), doc)).toEqual([]);
    const proxyPatch = { max_accounts: null, enabled: false };
    expect(checkSchema(proxyPatch, requestSchema('PATCH', '/proxies/{id}'), doc)).toEqual([]);
    const patchedProxy = await h.call('PATCH', `/proxies/${proxyId}`, { json: proxyPatch });
    expect(checkSchema(patchedProxy.body, responseSchema('PATCH', '/proxies/{id}', '200'), doc)).toEqual([]);
    const oneProxy = await h.call('GET', `/proxies/${proxyId}`);
    expect(checkSchema(oneProxy.body, responseSchema('GET', '/proxies/{id}', '200'), doc)).toEqual([]);
  });

  it('real model-alias responses (create, replace, list, missing) match their documented schemas', async () => {
    const body = { model: 'gpt-4o' };
    expect(checkSchema(body, requestSchema('PUT', '/model-aliases/{alias}'), doc)).toEqual([]);
    const created = await h.call('PUT', '/model-aliases/gpt-4', { json: body });
    expect(created.status).toBe(201);
    expect(checkSchema(created.body, responseSchema('PUT', '/model-aliases/{alias}', '201'), doc)).toEqual(
      [],
    );
    const replaced = await h.call('PUT', '/model-aliases/gpt-4', { json: { model: 'gpt-4.1' } });
    expect(replaced.status).toBe(200);
    expect(checkSchema(replaced.body, responseSchema('PUT', '/model-aliases/{alias}', '200'), doc)).toEqual(
      [],
    );
    const list = await h.call('GET', '/model-aliases');
    expect(checkSchema(list.body, responseSchema('GET', '/model-aliases', '200'), doc)).toEqual([]);
    const missing = await h.call('DELETE', '/model-aliases/nope');
    expect(missing.status).toBe(404);
    expect(checkSchema(missing.body, responseSchema('DELETE', '/model-aliases/{alias}', '404'), doc)).toEqual(
      [],
    );
  });

  it('a key with a user, quota, limits and allowlist, and a paged, filtered key list, match their documented schemas', async () => {
    const user = await h.call('POST', '/users', { json: { name: 'key-owner' } });
    const body = {
      name: 'limited',
      user_id: (user.body as { id: number }).id,
      quota: '2.5',
      ip_allowlist: ['10.0.0.0/8', '::1'],
      rpm_limit: 60,
      tpm_limit: null,
      concurrency_limit: 2,
    };
    expect(checkSchema(body, requestSchema('POST', '/keys'), doc)).toEqual([]);
    const created = await h.call('POST', '/keys', { json: body });
    expect(created.status).toBe(201);
    expect(checkSchema(created.body, responseSchema('POST', '/keys', '201'), doc)).toEqual([]);
    await h.db.updateTable('api_keys').set({ used_nano: 7, last_used_at: Date.now() }).execute();
    const id = (created.body as { id: number }).id;
    const got = await h.call('GET', `/keys/${id}`);
    expect(checkSchema(got.body, responseSchema('GET', '/keys/{id}', '200'), doc)).toEqual([]);
    const patch = { quota: 3, ip_allowlist: null, user_id: null };
    expect(checkSchema(patch, requestSchema('PATCH', '/keys/{id}'), doc)).toEqual([]);
    const patched = await h.call('PATCH', `/keys/${id}`, { json: patch });
    expect(checkSchema(patched.body, responseSchema('PATCH', '/keys/{id}', '200'), doc)).toEqual([]);
    const paged = await h.call('GET', '/keys?limit=1&enabled=true&q=i');
    expect((paged.body as { next_cursor: unknown }).next_cursor).toEqual(expect.any(String));
    expect(checkSchema(paged.body, responseSchema('GET', '/keys', '200'), doc)).toEqual([]);
    const bad = await h.call('GET', '/keys?limit=0');
    expect(checkSchema(bad.body, responseSchema('GET', '/keys', '400'), doc)).toEqual([]);
    const unknownGroup = await h.call('POST', '/keys', { json: { name: 'x', group: 'ghost' } });
    expect(unknownGroup.status).toBe(400);
    expect(checkSchema(unknownGroup.body, responseSchema('POST', '/keys', '400'), doc)).toEqual([]);
  });

  it('real user responses (create, get, list, patch, keys, top-up, conflicts) match their documented schemas', async () => {
    const body = {
      name: 'reseller',
      email: 'r@example.com',
      quota: '10',
      rpm_limit: 100,
      tpm_limit: null,
      concurrency_limit: 5,
      enabled: true,
      group: 'default',
    };
    expect(checkSchema(body, requestSchema('POST', '/users'), doc)).toEqual([]);
    const created = await h.call('POST', '/users', { json: body });
    expect(created.status).toBe(201);
    expect(checkSchema(created.body, responseSchema('POST', '/users', '201'), doc)).toEqual([]);
    const id = (created.body as { id: number }).id;
    await h.db.updateTable('users').set({ used_nano: 11_000_000_000, last_used_at: Date.now() }).execute();
    const got = await h.call('GET', `/users/${id}`);
    expect((got.body as { remaining: string }).remaining).toBe('-1');
    expect(checkSchema(got.body, responseSchema('GET', '/users/{id}', '200'), doc)).toEqual([]);
    const unlimited = await h.call('POST', '/users', { json: { name: 'plain' } });
    const list = await h.call('GET', '/users?limit=1');
    expect((list.body as { next_cursor: unknown }).next_cursor).toEqual(expect.any(String));
    expect(checkSchema(list.body, responseSchema('GET', '/users', '200'), doc)).toEqual([]);
    const all = await h.call('GET', '/users');
    expect(checkSchema(all.body, responseSchema('GET', '/users', '200'), doc)).toEqual([]);
    const patch = { quota: null, email: null, enabled: false };
    expect(checkSchema(patch, requestSchema('PATCH', '/users/{id}'), doc)).toEqual([]);
    const patched = await h.call('PATCH', `/users/${id}`, { json: patch });
    expect(checkSchema(patched.body, responseSchema('PATCH', '/users/{id}', '200'), doc)).toEqual([]);

    const topUp = { amount: '2.5' };
    expect(checkSchema(topUp, requestSchema('POST', '/users/{id}/topup'), doc)).toEqual([]);
    const noQuota = await h.call('POST', `/users/${id}/topup`, { json: topUp });
    expect(noQuota.status).toBe(409);
    expect(checkSchema(noQuota.body, responseSchema('POST', '/users/{id}/topup', '409'), doc)).toEqual([]);
    await h.call('PATCH', `/users/${id}`, { json: { quota: 1 } });
    const topped = await h.call('POST', `/users/${id}/topup`, { json: topUp });
    expect(topped.status).toBe(200);
    expect(checkSchema(topped.body, responseSchema('POST', '/users/{id}/topup', '200'), doc)).toEqual([]);

    await h.call('POST', '/keys', { json: { name: 'owned', user_id: id } });
    const keys = await h.call('GET', `/users/${id}/keys`);
    expect((keys.body as { data: unknown[] }).data).toHaveLength(1);
    expect(checkSchema(keys.body, responseSchema('GET', '/users/{id}/keys', '200'), doc)).toEqual([]);
    const dup = await h.call('POST', '/users', { json: { name: 'reseller' } });
    expect(dup.status).toBe(409);
    expect(checkSchema(dup.body, responseSchema('POST', '/users', '409'), doc)).toEqual([]);
    const hasKeys = await h.call('DELETE', `/users/${id}`);
    expect(hasKeys.status).toBe(409);
    expect(checkSchema(hasKeys.body, responseSchema('DELETE', '/users/{id}', '409'), doc)).toEqual([]);
    expect((await h.call('DELETE', `/users/${id}?cascade=true`)).status).toBe(204);
    const missing = await h.call('GET', `/users/${id}`);
    expect(checkSchema(missing.body, responseSchema('GET', '/users/{id}', '404'), doc)).toEqual([]);
    expect(unlimited.status).toBe(201);
  });

  it('real group responses (create, get, list, patch, conflicts) match their documented schemas', async () => {
    const body = { name: 'openapi-vip', description: 'VIP', price_ratio: '1.5' };
    expect(checkSchema(body, requestSchema('POST', '/groups'), doc)).toEqual([]);
    const created = await h.call('POST', '/groups', { json: body });
    expect(created.status).toBe(201);
    expect(checkSchema(created.body, responseSchema('POST', '/groups', '201'), doc)).toEqual([]);
    const bare = await h.call('POST', '/groups', { json: { name: 'openapi-bare' } });
    expect(checkSchema(bare.body, responseSchema('POST', '/groups', '201'), doc)).toEqual([]);
    const got = await h.call('GET', '/groups/openapi-vip');
    expect(checkSchema(got.body, responseSchema('GET', '/groups/{name}', '200'), doc)).toEqual([]);
    const list = await h.call('GET', '/groups');
    expect(checkSchema(list.body, responseSchema('GET', '/groups', '200'), doc)).toEqual([]);
    const patch = { price_ratio: 0.5, description: null };
    expect(checkSchema(patch, requestSchema('PATCH', '/groups/{name}'), doc)).toEqual([]);
    const patched = await h.call('PATCH', '/groups/openapi-vip', { json: patch });
    expect(checkSchema(patched.body, responseSchema('PATCH', '/groups/{name}', '200'), doc)).toEqual([]);
    const dup = await h.call('POST', '/groups', { json: { name: 'openapi-vip' } });
    expect(dup.status).toBe(409);
    expect(checkSchema(dup.body, responseSchema('POST', '/groups', '409'), doc)).toEqual([]);
    await h.call('POST', '/keys', { json: { name: 'in-vip', group: 'openapi-vip' } });
    const inUse = await h.call('DELETE', '/groups/openapi-vip');
    expect(inUse.status).toBe(409);
    expect(checkSchema(inUse.body, responseSchema('DELETE', '/groups/{name}', '409'), doc)).toEqual([]);
    const missing = await h.call('GET', '/groups/none');
    expect(missing.status).toBe(404);
    expect(checkSchema(missing.body, responseSchema('GET', '/groups/{name}', '404'), doc)).toEqual([]);
  });

  it('real price responses (put, replace, get, list, quote, missing) match their documented schemas', async () => {
    const body = {
      input_per_million: '1.5',
      output_per_million: 6,
      cached_input_per_million: null,
      reasoning_per_million: '8',
      per_request: '0.001',
      per_image: 0,
    };
    expect(checkSchema(body, requestSchema('PUT', '/prices/{model}'), doc)).toEqual([]);
    const created = await h.call('PUT', `/prices/${encodeURIComponent('vendor/model-*')}`, { json: body });
    expect(created.status).toBe(201);
    expect(checkSchema(created.body, responseSchema('PUT', '/prices/{model}', '201'), doc)).toEqual([]);
    const minimal = { input_per_million: 1, output_per_million: 2 };
    expect(checkSchema(minimal, requestSchema('PUT', '/prices/{model}'), doc)).toEqual([]);
    const replaced = await h.call('PUT', `/prices/${encodeURIComponent('vendor/model-*')}`, {
      json: minimal,
    });
    expect(replaced.status).toBe(200);
    expect(checkSchema(replaced.body, responseSchema('PUT', '/prices/{model}', '200'), doc)).toEqual([]);
    const got = await h.call('GET', '/prices/gpt-4o');
    expect(checkSchema(got.body, responseSchema('GET', '/prices/{model}', '200'), doc)).toEqual([]);
    const list = await h.call('GET', '/prices');
    expect(checkSchema(list.body, responseSchema('GET', '/prices', '200'), doc)).toEqual([]);
    const quote = await h.call('GET', '/prices/gpt-4o/quote?prompt_tokens=100&completion_tokens=10');
    expect(quote.status).toBe(200);
    expect(checkSchema(quote.body, responseSchema('GET', '/prices/{model}/quote', '200'), doc)).toEqual([]);
    const unpriced = await h.call('GET', '/prices/unpriced-model/quote');
    expect(unpriced.status).toBe(404);
    expect(checkSchema(unpriced.body, responseSchema('GET', '/prices/{model}/quote', '404'), doc)).toEqual(
      [],
    );
    const bad = await h.call('PUT', '/prices/x', { json: { input_per_million: -1, output_per_million: 1 } });
    expect(bad.status).toBe(400);
    expect(checkSchema(bad.body, responseSchema('PUT', '/prices/{model}', '400'), doc)).toEqual([]);
  });

  it('real error responses (400, 401, 404) match the documented error schema', async () => {
    const bad = await h.call('POST', '/channels', { json: channelBody({ models: [] }) });
    expect(bad.status).toBe(400);
    expect(checkSchema(bad.body, responseSchema('POST', '/channels', '400'), doc)).toEqual([]);
    const anonymous = await h.call('GET', '/keys', { token: null });
    expect(anonymous.status).toBe(401);
    expect(checkSchema(anonymous.body, responseSchema('GET', '/keys', '401'), doc)).toEqual([]);
    const missing = await h.call('GET', '/keys/999');
    expect(missing.status).toBe(404);
    expect(checkSchema(missing.body, responseSchema('GET', '/keys/{id}', '404'), doc)).toEqual([]);
  });
});
