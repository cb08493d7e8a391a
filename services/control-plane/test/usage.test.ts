import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewUsageLogRow } from '@switchyard/core';
import { type AdminHarness, dataOf, obj, startAdminHarness } from './admin-harness.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const ROWS = 130;

/** Row i: key 1 or 2 alternately, model gpt-4o for every third row, one minute apart. */
function usageRow(i: number): NewUsageLogRow {
  return {
    request_id: `req-${i}`,
    key_id: (i % 2) + 1,
    channel_id: 3,
    account_id: 4,
    model: i % 3 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
    upstream_model: 'upstream-x',
    prompt_tokens: i,
    completion_tokens: 2 * i,
    total_tokens: 3 * i,
    cached_tokens: Math.floor(i / 2),
    reasoning_tokens: i % 4,
    status: i % 10 === 0 ? 'error' : 'ok',
    http_status: i % 10 === 0 ? 502 : 200,
    latency_ms: 100 + i,
    stream: i % 2,
    error: i % 10 === 0 ? 'upstream_error' : null,
    created_at: T0 + i * 60_000,
  };
}

interface Page {
  data: Record<string, unknown>[];
  next_cursor: string | null;
}

describe('admin GET /usage', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness();
    await h.db
      .insertInto('usage_logs')
      .values(Array.from({ length: ROWS }, (_, i) => usageRow(i)))
      .execute();
  });
  afterAll(async () => {
    await h.close();
  });

  async function page(query: string): Promise<Page> {
    const res = await h.call('GET', `/usage${query}`);
    expect(res.status, res.text).toBe(200);
    const body = obj(res.body);
    return { data: dataOf(body), next_cursor: body.next_cursor as string | null };
  }

  /** Follows next_cursor from `query` to the end; returns every request_id and the page sizes. */
  async function walk(query: string): Promise<{ ids: string[]; sizes: number[] }> {
    const ids: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const sep = query === '' ? '?' : '&';
      const p: Page = await page(
        cursor === null ? query : `${query}${sep}cursor=${encodeURIComponent(cursor)}`,
      );
      ids.push(...p.data.map((r) => String(r.request_id)));
      sizes.push(p.data.length);
      cursor = p.next_cursor;
    } while (cursor !== null && sizes.length < 100);
    return { ids, sizes };
  }

  it('returns rows newest first, 50 by default, with every documented field', async () => {
    const p = await page('');
    expect(p.data).toHaveLength(50);
    expect(p.next_cursor).toEqual(expect.any(String));
    expect(p.data[0]).toEqual({
      id: ROWS,
      request_id: `req-${ROWS - 1}`,
      client_request_id: null,
      key_id: 2,
      channel_id: 3,
      account_id: 4,
      model: 'gpt-4o',
      upstream_model: 'upstream-x',
      prompt_tokens: 129,
      completion_tokens: 258,
      total_tokens: 387,
      cached_tokens: 64,
      reasoning_tokens: 1,
      status: 'ok',
      http_status: 200,
      latency_ms: 229,
      stream: true,
      error: null,
      created_at: new Date(T0 + 129 * 60_000).toISOString(),
    });
    const ids = p.data.map((r) => Number(r.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  });

  it('following next_cursor visits every row exactly once, newest first, and ends with null', async () => {
    const { ids, sizes } = await walk('?limit=40');
    expect(sizes).toEqual([40, 40, 40, 10]);
    expect(ids).toEqual(Array.from({ length: ROWS }, (_, i) => `req-${ROWS - 1 - i}`));
  });

  it('when the rows left exactly fill the page, then next_cursor is null (no empty trailing page)', async () => {
    const { sizes } = await walk('?limit=65');
    expect(sizes).toEqual([65, 65]);
  });

  it('filters by key_id, across pages', async () => {
    const { ids } = await walk('?key_id=2&limit=20');
    const expected = Array.from({ length: ROWS }, (_, i) => i)
      .filter((i) => i % 2 === 1)
      .reverse()
      .map((i) => `req-${i}`);
    expect(ids).toEqual(expected);
  });

  it('filters by model', async () => {
    const p = await page('?model=gpt-4o&limit=500');
    expect(p.data.length).toBe(Math.ceil(ROWS / 3));
    expect(p.data.every((r) => r.model === 'gpt-4o')).toBe(true);
    expect(p.next_cursor).toBeNull();
  });

  it('filters by since (inclusive), with any time zone spelling', async () => {
    const since = new Date(T0 + 100 * 60_000).toISOString();
    const p = await page(`?since=${encodeURIComponent(since)}&limit=500`);
    expect(p.data.map((r) => r.request_id)).toEqual(
      Array.from({ length: 30 }, (_, i) => `req-${ROWS - 1 - i}`),
    );
    const offset = await page(`?since=${encodeURIComponent('2026-01-01T03:40:00+02:00')}&limit=500`);
    expect(offset.data).toHaveLength(30);
  });

  it('combines key_id, model and since', async () => {
    const since = new Date(T0 + 60 * 60_000).toISOString();
    const p = await page(`?key_id=1&model=gpt-4o&since=${encodeURIComponent(since)}`);
    const expected = Array.from({ length: ROWS }, (_, i) => i)
      .filter((i) => i >= 60 && i % 2 === 0 && i % 3 === 0)
      .reverse()
      .map((i) => `req-${i}`);
    expect(p.data.map((r) => r.request_id)).toEqual(expected);
  });

  it('a filter that matches nothing gives an empty page and a null cursor', async () => {
    expect(await page('?key_id=999')).toEqual({ data: [], next_cursor: null });
  });

  it.each([
    ['since=yesterday', 'since'],
    ['since=2026-02-30', 'since'],
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=ten', 'limit'],
    ['key_id=-1', 'key_id'],
    ['cursor=not-a-cursor', 'cursor'],
    ['cursor=MTIz', 'cursor'],
    ['model=a&model=b', 'model'],
  ])('?%s → 400 naming %s', async (query, param) => {
    const res = await h.call('GET', `/usage?${query}`);
    expect(res.status).toBe(400);
    expect(obj(obj(res.body).error)).toMatchObject({ type: 'invalid_request_error', param });
  });

  it('limit=500 is accepted as the maximum', async () => {
    const p = await page('?limit=500');
    expect(p.data).toHaveLength(ROWS);
    expect(p.next_cursor).toBeNull();
  });
});
