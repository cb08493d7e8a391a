import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey, type NewUsageLogRow } from '@switchyard/core';
import { type AdminHarness, obj, startAdminHarness } from './admin-harness.js';
import { checkSchema } from './json-schema-check.js';
import { OPENAPI as doc, responseSchema } from './openapi-document.js';

const T = Date.parse('2026-01-01T12:00:00Z');
const MINUTE = 60_000;

interface Fixture {
  alice: number;
  bob: number;
  /** Plaintext client keys by name. */
  keys: Record<string, string>;
  keyIds: Record<string, number>;
}

/** Inserts users, keys and usage rows straight into the database (the dashboard only reads them). */
async function seed(h: AdminHarness): Promise<Fixture> {
  const now = h.clock.now;
  const user = async (name: string, quotaNano: number | null, usedNano: number, enabled = 1) =>
    Number(
      (
        await h.db
          .insertInto('users')
          .values({
            name,
            group_name: 'default',
            enabled,
            quota_nano: quotaNano,
            used_nano: usedNano,
            last_used_at: T + 5 * MINUTE,
            created_at: now,
            updated_at: now,
          })
          .executeTakeFirstOrThrow()
      ).insertId,
    );
  const alice = await user('alice', 10_000_000_000, 2_500_000_000);
  const bob = await user('bob', null, 7_000_000_000);
  const carol = await user('carol', null, 0, 0);

  const keys: Record<string, string> = {};
  const keyIds: Record<string, number> = {};
  const key = async (
    name: string,
    userId: number | null,
    fields: {
      quota_nano?: number | null;
      used_nano?: number;
      enabled?: number;
      expires_at?: number | null;
    } = {},
  ) => {
    keys[name] = `sk-sy-dashboard-${name}-${'x'.repeat(20)}`;
    keyIds[name] = Number(
      (
        await h.db
          .insertInto('api_keys')
          .values({
            name,
            key_hash: hashKey(keys[name]),
            key_prefix: `sk-sy-${name}`.slice(0, 12),
            group_name: 'default',
            enabled: fields.enabled ?? 1,
            expires_at: fields.expires_at ?? null,
            user_id: userId,
            quota_nano: fields.quota_nano ?? null,
            used_nano: fields.used_nano ?? 0,
            last_used_at: userId === null ? null : T,
            created_at: now,
            updated_at: now,
          })
          .executeTakeFirstOrThrow()
      ).insertId,
    );
  };
  await key('alice-1', alice, { quota_nano: 1_000_000_000, used_nano: 1_200_000_000 });
  await key('alice-2', alice, { quota_nano: 5_000_000_000, used_nano: 1_300_000_000 });
  await key('bob-1', bob, { used_nano: 7_000_000_000 });
  await key('loner', null, { quota_nano: 3_000_000_000, used_nano: 500_000_000 });
  await key('disabled', alice, { enabled: 0 });
  await key('expired', alice, { expires_at: now - 1 });
  await key('carols', carol);

  const row = (
    requestId: string,
    keyName: string,
    userId: number | null,
    i: number,
    model: string,
  ): NewUsageLogRow => ({
    request_id: requestId,
    client_request_id: null,
    key_id: keyIds[keyName]!,
    user_id: userId,
    channel_id: 77,
    account_id: 88,
    model,
    upstream_model: 'upstream-secret-model',
    prompt_tokens: 100,
    completion_tokens: 10,
    total_tokens: 110,
    cached_tokens: 0,
    reasoning_tokens: 0,
    cost_nano: 250_000_000,
    partial: 0,
    status: 'ok',
    http_status: 200,
    latency_ms: 100 + i,
    stream: 0,
    error: null,
    created_at: T + i * MINUTE,
  });
  await h.db
    .insertInto('usage_logs')
    .values([
      row('alice-a', 'alice-1', alice, 0, 'gpt-4o'),
      row('alice-b', 'alice-1', alice, 1, 'gpt-4o-mini'),
      row('alice-c', 'alice-2', alice, 2, 'gpt-4o'),
      row('alice-d', 'alice-2', alice, 3, 'gpt-4o'),
      row('alice-e', 'alice-2', alice, 4, 'gpt-4o'),
      row('bob-a', 'bob-1', bob, 5, 'gpt-4o'),
      row('bob-b', 'bob-1', bob, 6, 'bob-private-model'),
      row('loner-a', 'loner', null, 7, 'gpt-4o'),
      // A row of alice-1 from before it belonged to anyone: not part of alice's usage.
      row('legacy-a', 'alice-1', null, 8, 'gpt-4o'),
    ])
    .execute();
  return { alice, bob, keys, keyIds };
}

describe('GET /v1/dashboard for key owners', () => {
  let h: AdminHarness;
  let server: Server;
  let base: string;
  let f: Fixture;

  beforeAll(async () => {
    h = await startAdminHarness();
    // The clock a day after the rows, so the default 30-day range covers them.
    h.clock.now = T + 24 * 60 * MINUTE;
    const app = express();
    app.use('/v1/dashboard', h.controlPlane.dashboardRouter());
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/dashboard`;
    f = await seed(h);
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await h.close();
  });

  async function get(
    path: string,
    key: string | null,
    headerName: 'authorization' | 'x-api-key' = 'authorization',
  ): Promise<{ status: number; headers: Headers; text: string; body: Record<string, unknown> }> {
    const headers: Record<string, string> = {};
    if (key !== null) headers[headerName] = headerName === 'authorization' ? `Bearer ${key}` : key;
    const res = await fetch(base + path, { headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: obj(JSON.parse(text)) };
  }

  const requestIds = (body: Record<string, unknown>) =>
    (body.data as Array<{ request_id: string }>).map((r) => r.request_id);

  it("when a key of a user asks for its balance, then it gets the key's and the user's quota, spend and what is left", async () => {
    const res = await get('/balance', f.keys['alice-1']!);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({
      key: {
        id: f.keyIds['alice-1'],
        name: 'alice-1',
        key_prefix: 'sk-sy-alice-',
        expires_at: null,
        quota: '1',
        used: '1.2',
        // Overspent: nothing is left, never a negative balance.
        remaining: '0',
        last_used_at: new Date(T).toISOString(),
      },
      user: {
        id: f.alice,
        name: 'alice',
        quota: '10',
        used: '2.5',
        remaining: '7.5',
        last_used_at: new Date(T + 5 * MINUTE).toISOString(),
      },
    });
    expect(checkSchema(res.body, responseSchema('GET', '/dashboard/balance', '200'), doc)).toEqual([]);
  });

  it('when a key of no user asks for its balance, then user is null, and an unlimited quota has no remaining', async () => {
    const loner = await get('/balance', f.keys.loner!, 'x-api-key');
    expect(loner.body).toMatchObject({
      key: { quota: '3', used: '0.5', remaining: '2.5', last_used_at: null },
      user: null,
    });
    expect(checkSchema(loner.body, responseSchema('GET', '/dashboard/balance', '200'), doc)).toEqual([]);
    const bob = await get('/balance', f.keys['bob-1']!);
    expect(bob.body).toMatchObject({
      key: { quota: null, remaining: null },
      user: { quota: null, used: '7', remaining: null },
    });
  });

  it("when alice asks for her usage, then she sees every key of hers and nothing of bob's, the loner's or from before her", async () => {
    const res = await get('/usage', f.keys['alice-2']!);
    expect(res.status, res.text).toBe(200);
    expect(res.body.scope).toEqual({ user_id: f.alice, key_id: null });
    expect(requestIds(res.body)).toEqual(['alice-e', 'alice-d', 'alice-c', 'alice-b', 'alice-a']);
    const summary = obj(res.body.summary);
    expect(summary).toMatchObject({
      group_by: 'model',
      since: '2025-12-03T12:00:00.000Z',
      until: '2026-01-02T12:00:00.000Z',
    });
    expect(
      (summary.data as Array<Record<string, unknown>>).map((r) => [r.day, r.group, r.requests, r.cost]),
    ).toEqual([
      ['2026-01-01', 'gpt-4o', 4, '1'],
      ['2026-01-01', 'gpt-4o-mini', 1, '0.25'],
    ]);
    expect(checkSchema(res.body, responseSchema('GET', '/dashboard/usage', '200'), doc)).toEqual([]);
  });

  it("when a caller reads its usage, then no channel, account or upstream detail and no other user's model appears", async () => {
    for (const name of ['alice-1', 'loner']) {
      const res = await get('/usage', f.keys[name]!);
      expect(res.text).not.toMatch(
        /upstream-secret-model|bob-private-model|channel_id|account_id|upstream_model/,
      );
      for (const r of res.body.data as Array<Record<string, unknown>>) {
        expect(Object.keys(r)).not.toContain('user_id');
        expect(r).not.toHaveProperty('channel_id');
      }
    }
  });

  it('when bob asks for his usage, then he sees only his rows', async () => {
    const res = await get('/usage', f.keys['bob-1']!);
    expect(res.body.scope).toEqual({ user_id: f.bob, key_id: null });
    expect(requestIds(res.body)).toEqual(['bob-b', 'bob-a']);
  });

  it("when a key of no user asks, then it sees that key's rows only, and asking for another key's id gives nothing", async () => {
    const own = await get('/usage', f.keys.loner!);
    expect(own.body.scope).toEqual({ user_id: null, key_id: f.keyIds.loner });
    expect(requestIds(own.body)).toEqual(['loner-a']);
    const other = await get(`/usage?key_id=${f.keyIds['bob-1']}`, f.keys.loner!);
    expect(requestIds(other.body)).toEqual([]);
    expect(obj(other.body.summary).data).toEqual([]);
  });

  it("when alice filters by bob's key id, then she gets nothing; by her own key, only that key", async () => {
    const bobs = await get(`/usage?key_id=${f.keyIds['bob-1']}`, f.keys['alice-1']!);
    expect(requestIds(bobs.body)).toEqual([]);
    expect(obj(bobs.body.summary).data).toEqual([]);
    const hers = await get(`/usage?key_id=${f.keyIds['alice-1']}`, f.keys['alice-2']!);
    expect(requestIds(hers.body)).toEqual(['alice-b', 'alice-a']);
  });

  it('when grouped by key, then the summary has one row per key of hers', async () => {
    const res = await get('/usage?group_by=key', f.keys['alice-1']!);
    const data = obj(res.body.summary).data as Array<Record<string, unknown>>;
    expect(data.map((r) => [r.group, r.requests, r.latency_p50_ms, r.latency_p95_ms])).toEqual([
      [f.keyIds['alice-1'], 2, 100, 101],
      [f.keyIds['alice-2'], 3, 103, 104],
    ]);
  });

  it('when the list is paged, then following next_cursor visits each of her rows once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(
        `/usage?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`,
        f.keys['alice-1']!,
      );
      seen.push(...requestIds(res.body));
      cursor = res.body.next_cursor as string | null;
    } while (cursor !== null && seen.length < 20);
    expect(seen).toEqual(['alice-e', 'alice-d', 'alice-c', 'alice-b', 'alice-a']);
  });

  it.each([
    ['no key', null, 'missing_api_key'],
    ['an unknown key', 'sk-sy-not-a-key', 'invalid_api_key'],
    ['a disabled key', 'disabled', 'api_key_disabled'],
    ['an expired key', 'expired', 'api_key_expired'],
    ['a key of a disabled user', 'carols', 'user_disabled'],
  ])('when called with %s, then 401 in the OpenAI error shape (%s)', async (_what, key, code) => {
    const presented = key === null ? null : (f.keys[key] ?? key);
    for (const path of ['/balance', '/usage', '/nowhere']) {
      const res = await get(path, presented);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.body).toEqual({
        error: { message: expect.any(String), type: 'authentication_error', code },
      });
    }
  });

  it('when called with the admin token, then it is refused: the dashboard takes client keys only', async () => {
    const res = await get('/balance', h.adminToken);
    expect(res.status).toBe(401);
    expect(obj(res.body.error).code).toBe('invalid_api_key');
  });

  it('when the range is longer than 93 days or a parameter is wrong, then 400 names it', async () => {
    const long = await get('/usage?since=2025-06-01', f.keys['alice-1']!);
    expect(long.status).toBe(400);
    expect(long.body.error).toMatchObject({ code: 'range_too_long', param: 'since' });
    const bad = await get('/usage?group_by=user', f.keys['alice-1']!);
    expect(bad.status).toBe(400);
    expect(obj(bad.body.error).param).toBe('group_by');
    expect(checkSchema(bad.body, responseSchema('GET', '/dashboard/usage', '400'), doc)).toEqual([]);
  });

  it('when an authenticated caller asks for an unknown path, then 404 in the same error shape', async () => {
    const res = await get('/nowhere', f.keys['alice-1']!);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', code: 'route_not_found' },
    });
  });
});
