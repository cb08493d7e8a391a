import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewUsageLogRow } from '@switchyard/core';
import {
  ADMIN_DATABASES,
  type AdminHarness,
  errorOf,
  getPage,
  obj,
  startAdminHarness,
  walkPages,
} from './admin-harness.js';
import { checkSchema } from './json-schema-check.js';
import { componentSchema, OPENAPI as doc } from './openapi-document.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const ROWS = 130;

/**
 * Row i: key 1 or 2 alternately (user 10 for key 1, none for key 2), model gpt-4o for every third
 * row, channel 3 or (every fifth row) 4, one minute apart; every tenth row an error, and rows 7, 17, …
 * aborted.
 */
function usageRow(i: number): NewUsageLogRow {
  return {
    request_id: `req-${i}`,
    key_id: (i % 2) + 1,
    user_id: i % 2 === 0 ? 10 : null,
    channel_id: i % 5 === 0 ? 4 : 3,
    account_id: 4,
    model: i % 3 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
    upstream_model: 'upstream-x',
    prompt_tokens: i,
    completion_tokens: 2 * i,
    total_tokens: 3 * i,
    cached_tokens: Math.floor(i / 2),
    reasoning_tokens: i % 4,
    cost_nano: i * 1_500_000,
    partial: i % 7 === 0 ? 1 : 0,
    status: i % 10 === 0 ? 'error' : i % 10 === 7 ? 'aborted' : 'ok',
    http_status: i % 10 === 0 ? 502 : 200,
    latency_ms: 100 + i,
    stream: i % 2,
    error: i % 10 === 0 ? 'upstream_error' : null,
    created_at: T0 + i * 60_000,
  };
}

/**
 * A strict RFC 4180 parser: CRLF-terminated records, quoted fields with doubled quotes; anything
 * else (a bare line break, a quote inside an unquoted field, an unterminated record) throws.
 */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
      continue;
    }
    if (c === '"') {
      if (field !== '' || wasQuoted) throw new Error(`quote inside an unquoted field at ${i}`);
      quoted = true;
      wasQuoted = true;
    } else if (c === ',') {
      record.push(field);
      field = '';
      wasQuoted = false;
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      wasQuoted = false;
      i++;
    } else if (c === '\r' || c === '\n') {
      throw new Error(`bare line break outside quotes at ${i}`);
    } else {
      if (wasQuoted) throw new Error(`text after a closing quote at ${i}`);
      field += c;
    }
  }
  if (quoted || field !== '' || record.length > 0) throw new Error('the last record is not CRLF-terminated');
  return records;
}

/** A JSON view value as the CSV export spells it. */
const asCsv = (v: unknown): string => (v === null ? '' : String(v));

/** Fetches an admin path without parsing the body (a CSV download). */
async function download(
  h: AdminHarness,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(h.baseUrl + path, {
    headers: { authorization: `Bearer ${h.adminToken}`, ...headers },
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
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

  it('returns rows newest first, 50 by default, with every documented field', async () => {
    const p = await getPage(h, '/usage');
    expect(p.data).toHaveLength(50);
    expect(p.next_cursor).toEqual(expect.any(String));
    expect(p.data[0]).toEqual({
      id: ROWS,
      request_id: `req-${ROWS - 1}`,
      client_request_id: null,
      key_id: 2,
      user_id: null,
      channel_id: 3,
      account_id: 4,
      model: 'gpt-4o',
      upstream_model: 'upstream-x',
      prompt_tokens: 129,
      completion_tokens: 258,
      total_tokens: 387,
      cached_tokens: 64,
      reasoning_tokens: 1,
      cost: '0.1935',
      partial: false,
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
    const { values: ids, sizes } = await walkPages(h, '/usage?limit=40', 'request_id');
    expect(sizes).toEqual([40, 40, 40, 10]);
    expect(ids).toEqual(Array.from({ length: ROWS }, (_, i) => `req-${ROWS - 1 - i}`));
  });

  it('when the rows left exactly fill the page, then next_cursor is null (no empty trailing page)', async () => {
    const { sizes } = await walkPages(h, '/usage?limit=65', 'request_id');
    expect(sizes).toEqual([65, 65]);
  });

  it('filters by key_id, across pages', async () => {
    const { values: ids } = await walkPages(h, '/usage?key_id=2&limit=20', 'request_id');
    const expected = Array.from({ length: ROWS }, (_, i) => i)
      .filter((i) => i % 2 === 1)
      .reverse()
      .map((i) => `req-${i}`);
    expect(ids).toEqual(expected);
  });

  it('filters by model', async () => {
    const p = await getPage(h, '/usage?model=gpt-4o&limit=500');
    expect(p.data.length).toBe(Math.ceil(ROWS / 3));
    expect(p.data.every((r) => r.model === 'gpt-4o')).toBe(true);
    expect(p.next_cursor).toBeNull();
  });

  it('filters by since (inclusive), with any time zone spelling', async () => {
    const since = new Date(T0 + 100 * 60_000).toISOString();
    const p = await getPage(h, `/usage?since=${encodeURIComponent(since)}&limit=500`);
    expect(p.data.map((r) => r.request_id)).toEqual(
      Array.from({ length: 30 }, (_, i) => `req-${ROWS - 1 - i}`),
    );
    const offset = await getPage(
      h,
      `/usage?since=${encodeURIComponent('2026-01-01T03:40:00+02:00')}&limit=500`,
    );
    expect(offset.data).toHaveLength(30);
  });

  it('combines key_id, model and since', async () => {
    const since = new Date(T0 + 60 * 60_000).toISOString();
    const p = await getPage(h, `/usage?key_id=1&model=gpt-4o&since=${encodeURIComponent(since)}`);
    const expected = Array.from({ length: ROWS }, (_, i) => i)
      .filter((i) => i >= 60 && i % 2 === 0 && i % 3 === 0)
      .reverse()
      .map((i) => `req-${i}`);
    expect(p.data.map((r) => r.request_id)).toEqual(expected);
  });

  it('a filter that matches nothing gives an empty page and a null cursor', async () => {
    expect(await getPage(h, '/usage?key_id=999')).toEqual({ data: [], next_cursor: null });
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
    ['user_id=0', 'user_id'],
    ['channel_id=x', 'channel_id'],
    ['status=failed', 'status'],
    ['until=tomorrow', 'until'],
    ['format=xml', 'format'],
  ])('?%s → 400 naming %s', async (query, param) => {
    const res = await h.call('GET', `/usage?${query}`);
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({ type: 'invalid_request_error', param });
  });

  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const newestFirst = (rows: number[]) => [...rows].reverse().map((i) => `req-${i}`);

  it.each([
    ['user_id=10', range(ROWS).filter((i) => i % 2 === 0)],
    ['channel_id=4', range(ROWS).filter((i) => i % 5 === 0)],
    ['status=error', range(ROWS).filter((i) => i % 10 === 0)],
    ['status=aborted', range(ROWS).filter((i) => i % 10 === 7)],
    ['status=ok', range(ROWS).filter((i) => i % 10 !== 0 && i % 10 !== 7)],
    [`until=${encodeURIComponent(new Date(T0 + 10 * 60_000).toISOString())}`, range(10)],
    [
      `since=${encodeURIComponent(new Date(T0 + 10 * 60_000).toISOString())}&until=${encodeURIComponent(new Date(T0 + 20 * 60_000).toISOString())}`,
      range(20).slice(10),
    ],
    ['user_id=10&channel_id=4&status=error&model=gpt-4o', range(ROWS).filter((i) => i % 30 === 0)],
    ['user_id=10&key_id=2', []],
  ])('filters by %s, across pages', async (query, rows) => {
    const { values: ids } = await walkPages(h, `/usage?${query}&limit=7`, 'request_id');
    expect(ids).toEqual(newestFirst(rows));
  });

  it("shows each row's user, cost and partial flag", async () => {
    const p = await getPage(h, '/usage?limit=500');
    const byId = new Map(p.data.map((r) => [r.request_id, r]));
    expect(byId.get('req-14')).toMatchObject({ user_id: 10, cost: '0.021', partial: true, status: 'ok' });
    expect(byId.get('req-17')).toMatchObject({
      user_id: null,
      cost: '0.0255',
      partial: false,
      status: 'aborted',
    });
    expect(byId.get('req-0')).toMatchObject({ cost: '0', partial: true, status: 'error' });
  });

  it('when format=csv, then every matching row (not one page) is a CSV attachment whose records equal the JSON views', async () => {
    const res = await download(h, '/usage?format=csv&limit=5');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="usage.csv"');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const [header, ...records] = parseCsv(res.text);
    const views = (await getPage(h, '/usage?limit=500')).data;
    expect(header).toEqual(Object.keys(views[0]!));
    expect(records).toHaveLength(ROWS);
    expect(records).toEqual(views.map((v) => header!.map((column) => asCsv(v[column]))));
  });

  it('when the client sends Accept: text/csv, then it gets the same CSV, filtered like the JSON', async () => {
    const csv = await download(h, '/usage?key_id=2&status=ok', { accept: 'text/csv' });
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const [header, ...records] = parseCsv(csv.text);
    const ids = records.map((r) => r[header!.indexOf('request_id')]);
    expect(ids).toEqual(newestFirst(range(ROWS).filter((i) => i % 2 === 1 && i % 10 !== 7)));
    // A browser-style Accept that lists JSON first still gets JSON.
    const json = await download(h, '/usage?limit=1', { accept: 'application/json, text/csv;q=0.5' });
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('a page with users, costs and partial rows matches the documented UsagePage schema', async () => {
    expect(
      checkSchema(obj((await h.call('GET', '/usage?limit=500')).body), componentSchema('UsagePage'), doc),
    ).toEqual([]);
  });

  it('limit=500 is accepted as the maximum', async () => {
    const p = await getPage(h, '/usage?limit=500');
    expect(p.data).toHaveLength(ROWS);
    expect(p.next_cursor).toBeNull();
  });
});

describe('admin GET /usage as CSV, beyond one database page', () => {
  let h: AdminHarness;
  const BULK = 2_345;
  const awkward = [
    'comma, inside',
    'a "quoted" word',
    'two\r\nlines',
    '=HYPERLINK("http://evil")',
    '-1+2',
    '@SUM(A1)',
  ];
  beforeAll(async () => {
    h = await startAdminHarness();
    const rows = Array.from({ length: BULK }, (_, i) => ({
      ...usageRow(i),
      model: i < awkward.length ? awkward[i]! : `model-${i % 3}`,
      client_request_id: i === 0 ? 'tab\tinside' : null,
    }));
    // Chunked: one multi-row INSERT per 500 rows stays below SQLite's bound-parameter limit.
    for (let i = 0; i < rows.length; i += 500)
      await h.db
        .insertInto('usage_logs')
        .values(rows.slice(i, i + 500))
        .execute();
  });
  afterAll(async () => {
    await h.close();
  });

  it('when more rows match than one database page holds, then the CSV still has every row once, newest first', async () => {
    const res = await download(h, '/usage?format=csv');
    const [header, ...records] = parseCsv(res.text);
    const id = header!.indexOf('request_id');
    expect(records.map((r) => r[id])).toEqual(Array.from({ length: BULK }, (_, i) => `req-${BULK - 1 - i}`));
  });

  it('when a cursor is given, then the CSV starts below it', async () => {
    const first = await h.call('GET', '/usage?limit=100');
    const cursor = obj(first.body).next_cursor as string;
    const [header, ...records] = parseCsv((await download(h, `/usage?format=csv&cursor=${cursor}`)).text);
    expect(records).toHaveLength(BULK - 100);
    expect(records[0]![header!.indexOf('request_id')]).toBe(`req-${BULK - 101}`);
  });

  it('when text holds commas, quotes, line breaks or a spreadsheet formula, then it is quoted per RFC 4180 and formulas are defused', async () => {
    const res = await download(h, '/usage?format=csv');
    const [header, ...records] = parseCsv(res.text);
    const byId = new Map(records.map((r) => [r[header!.indexOf('request_id')], r]));
    const model = (i: number) => byId.get(`req-${i}`)![header!.indexOf('model')];
    expect(model(0)).toBe('comma, inside');
    expect(model(1)).toBe('a "quoted" word');
    expect(model(2)).toBe('two\r\nlines');
    expect(model(3)).toBe(`'=HYPERLINK("http://evil")`);
    expect(model(4)).toBe(`'-1+2`);
    expect(model(5)).toBe(`'@SUM(A1)`);
    expect(byId.get('req-0')![header!.indexOf('client_request_id')]).toBe('tab\tinside');
    expect(res.text).toContain('"a ""quoted"" word"');
  });
});

const DAY = 86_400_000;
const D1 = Date.parse('2026-03-01T00:00:00Z');

/** One hand-built summary row's defaults: 10 prompt (2 cached), 5 completion (1 reasoning) tokens. */
function summaryRow(
  requestId: string,
  fields: Pick<NewUsageLogRow, 'key_id' | 'user_id' | 'channel_id' | 'model' | 'latency_ms' | 'created_at'> &
    Partial<NewUsageLogRow>,
): NewUsageLogRow {
  return {
    request_id: requestId,
    account_id: 1,
    upstream_model: 'upstream-secret-model',
    prompt_tokens: 10,
    completion_tokens: 5,
    total_tokens: 15,
    cached_tokens: 2,
    reasoning_tokens: 1,
    status: 'ok',
    http_status: 200,
    stream: 0,
    error: null,
    cost_nano: 0,
    ...fields,
  };
}

/**
 * On 2026-03-01: 20 gpt-4o rows of keys 1 and 2 (user 1, channel 1) with latencies 10…200 ms inserted
 * out of order, 4 errors and 1 abort, costing (i + 1) × 0.001 USD; 3 claude rows of key 3 (user 2,
 * channel 2) with latencies 300, 5, 7; one failed gpt-4o-mini row of key 4 (no user, no channel).
 * On 2026-03-02: one gpt-4o row of key 4 costing 5 USD. Outside the range: one row the day before and
 * one on 2026-03-03.
 */
function summaryFixture(): NewUsageLogRow[] {
  const order = [13, 2, 19, 7, 0, 11, 5, 16, 9, 3, 18, 1, 14, 6, 10, 4, 17, 8, 12, 15];
  const gpt = order.map((i) =>
    summaryRow(`a-${i}`, {
      key_id: i % 2 === 0 ? 1 : 2,
      user_id: 1,
      channel_id: 1,
      model: 'gpt-4o',
      latency_ms: 10 * (i + 1),
      created_at: D1 + 1000 * i,
      cost_nano: (i + 1) * 1_000_000,
      status: i % 5 === 0 ? 'error' : i === 1 ? 'aborted' : 'ok',
    }),
  );
  const claude = [300, 5, 7].map((latency, i) =>
    summaryRow(`b-${i}`, {
      key_id: 3,
      user_id: 2,
      channel_id: 2,
      model: 'claude-sonnet-4',
      latency_ms: latency,
      created_at: D1 + 3_600_000 + i,
      cost_nano: 333,
    }),
  );
  return [
    ...gpt,
    ...claude,
    summaryRow('c-0', {
      key_id: 4,
      user_id: null,
      channel_id: null,
      model: 'gpt-4o-mini',
      latency_ms: 1000,
      created_at: D1 + DAY - 1,
      status: 'error',
    }),
    summaryRow('d-0', {
      key_id: 4,
      user_id: null,
      channel_id: null,
      model: 'gpt-4o',
      latency_ms: 42,
      created_at: D1 + DAY,
      cost_nano: 5_000_000_000,
    }),
    summaryRow('out-before', {
      key_id: 1,
      user_id: 1,
      channel_id: 1,
      model: 'gpt-4o',
      latency_ms: 1,
      created_at: D1 - 1,
    }),
    summaryRow('out-after', {
      key_id: 1,
      user_id: 1,
      channel_id: 1,
      model: 'gpt-4o',
      latency_ms: 1,
      created_at: D1 + 2 * DAY,
    }),
  ];
}

/** The summary row every group of the fixture starts from: tokens are 10/5/2/1/15 per request. */
function expectedRow(day: string, group: string | number | null, n: number, rest: Record<string, unknown>) {
  return {
    day,
    group,
    requests: n,
    errors: 0,
    aborted: 0,
    error_rate: 0,
    prompt_tokens: 10 * n,
    completion_tokens: 5 * n,
    cached_tokens: 2 * n,
    reasoning_tokens: 1 * n,
    total_tokens: 15 * n,
    ...rest,
  };
}

const RANGE = `since=2026-03-01&until=2026-03-03`;

// What the fixture's groups of rows sum to; each grouping shows them under its own group value.
/** claude-sonnet-4 on day 1, 3 rows: latencies 5, 7, 300; p50 rank ceil(1.5) = 2, p95 rank ceil(2.85) = 3. */
const CLAUDE_DAY_1 = { cost: '0.000000999', latency_p50_ms: 7, latency_p95_ms: 300 };
/**
 * gpt-4o on day 1, 20 rows: latencies 10…200; p50 is rank 10 (100 ms), p95 rank 19 (190 ms); cost 1 + 2 +
 * … + 20 thousandths.
 */
const GPT_4O_DAY_1 = {
  errors: 4,
  aborted: 1,
  error_rate: 0.2,
  cost: '0.21',
  latency_p50_ms: 100,
  latency_p95_ms: 190,
};
/** gpt-4o-mini on day 1: one failed row. */
const MINI_DAY_1 = { errors: 1, error_rate: 1, cost: '0', latency_p50_ms: 1000, latency_p95_ms: 1000 };
/** gpt-4o on day 2: one row. */
const GPT_4O_DAY_2 = { cost: '5', latency_p50_ms: 42, latency_p95_ms: 42 };

for (const database of ADMIN_DATABASES) {
  describe(`admin GET /usage/summary on ${database.name}`, () => {
    let h: AdminHarness;
    beforeAll(async () => {
      h = await database.start();
      await h.db.insertInto('usage_logs').values(summaryFixture()).execute();
    });
    afterAll(async () => {
      await h.close();
    });

    async function summary(query: string): Promise<Record<string, unknown>> {
      const res = await h.call('GET', `/usage/summary?${query}`);
      expect(res.status, res.text).toBe(200);
      return obj(res.body);
    }

    it('when grouped by model, then each day × model has the hand-computed counts, sums, cost and nearest-rank p50/p95', async () => {
      const body = await summary(RANGE);
      expect(body).toEqual({
        group_by: 'model',
        since: '2026-03-01T00:00:00.000Z',
        until: '2026-03-03T00:00:00.000Z',
        data: [
          expectedRow('2026-03-01', 'claude-sonnet-4', 3, CLAUDE_DAY_1),
          expectedRow('2026-03-01', 'gpt-4o', 20, GPT_4O_DAY_1),
          expectedRow('2026-03-01', 'gpt-4o-mini', 1, MINI_DAY_1),
          expectedRow('2026-03-02', 'gpt-4o', 1, GPT_4O_DAY_2),
        ],
      });
    });

    it('when grouped by key, then keys 1 and 2 split the gpt-4o rows by even and odd latencies', async () => {
      const body = await summary(`${RANGE}&group_by=key`);
      expect(body.group_by).toBe('key');
      expect(body.data).toEqual([
        // Key 1: latencies 10, 30, …, 190 (10 rows): p50 rank 5 = 90, p95 rank 10 = 190; errors at 0 and 10.
        expectedRow('2026-03-01', 1, 10, {
          errors: 2,
          error_rate: 0.2,
          cost: '0.1',
          latency_p50_ms: 90,
          latency_p95_ms: 190,
        }),
        // Key 2: latencies 20, 40, …, 200: p50 = 100, p95 = 200; errors at 5 and 15, the abort at 1.
        expectedRow('2026-03-01', 2, 10, {
          errors: 2,
          aborted: 1,
          error_rate: 0.2,
          cost: '0.11',
          latency_p50_ms: 100,
          latency_p95_ms: 200,
        }),
        expectedRow('2026-03-01', 3, 3, CLAUDE_DAY_1),
        expectedRow('2026-03-01', 4, 1, MINI_DAY_1),
        expectedRow('2026-03-02', 4, 1, GPT_4O_DAY_2),
      ]);
    });

    it.each([
      ['user', 1, 2],
      ['channel', 1, 2],
    ])(
      'when grouped by %s, then the rows of none come first as null, and each group keeps its own percentiles',
      async (groupBy, first, second) => {
        const body = await summary(`${RANGE}&group_by=${groupBy}`);
        expect(body.data).toEqual([
          expectedRow('2026-03-01', null, 1, MINI_DAY_1),
          expectedRow('2026-03-01', first, 20, GPT_4O_DAY_1),
          expectedRow('2026-03-01', second, 3, CLAUDE_DAY_1),
          expectedRow('2026-03-02', null, 1, GPT_4O_DAY_2),
        ]);
      },
    );

    it('when filtered by user and status, then only those rows are summed and ranked', async () => {
      const body = await summary(`${RANGE}&user_id=1&status=ok`);
      // The 15 ok gpt-4o rows: latencies 30, 40, 50, 70, 80, 90, 100, 120, 130, 140, 150, 170, 180, 190,
      // 200 (no 10, 60, 110, 160: errors; no 20: the abort). p50 is rank ceil(7.5) = 8 → 120 ms; p95
      // rank ceil(14.25) = 15 → 200 ms.
      const okCost = [2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 16, 17, 18, 19].reduce((s, i) => s + i + 1, 0);
      expect(body.data).toEqual([
        expectedRow('2026-03-01', 'gpt-4o', 15, {
          cost: `0.${String(okCost).padStart(3, '0')}`,
          latency_p50_ms: 120,
          latency_p95_ms: 200,
        }),
      ]);
    });

    it('when any grouping is asked for, then the answer matches the documented UsageSummary schema', async () => {
      for (const groupBy of ['model', 'key', 'user', 'channel']) {
        expect(
          checkSchema(await summary(`${RANGE}&group_by=${groupBy}`), componentSchema('UsageSummary'), doc),
        ).toEqual([]);
      }
    });

    it('when nothing matches, then data is empty', async () => {
      expect((await summary(`${RANGE}&model=nope`)).data).toEqual([]);
    });

    it('when format=csv, then the same rows come as CSV with the group column named after group_by', async () => {
      const res = await download(h, `/usage/summary?${RANGE}&group_by=user&format=csv`);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(res.headers.get('content-disposition')).toBe('attachment; filename="usage-summary-by-user.csv"');
      const [header, ...records] = parseCsv(res.text);
      expect(header).toEqual([
        'day',
        'user_id',
        'requests',
        'errors',
        'aborted',
        'error_rate',
        'prompt_tokens',
        'completion_tokens',
        'cached_tokens',
        'reasoning_tokens',
        'total_tokens',
        'cost',
        'latency_p50_ms',
        'latency_p95_ms',
      ]);
      const json = (await summary(`${RANGE}&group_by=user`)).data as Array<Record<string, unknown>>;
      expect(records).toEqual(json.map((r) => Object.values(r).map(asCsv)));
      expect(records[1]).toEqual([
        '2026-03-01',
        '1',
        '20',
        '4',
        '1',
        '0.2',
        '200',
        '100',
        '40',
        '20',
        '300',
        '0.21',
        '100',
        '190',
      ]);
    });
  });
}

describe('admin GET /usage/summary range rules', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('when the range is exactly 93 days, then it is answered', async () => {
    const res = await h.call('GET', '/usage/summary?since=2026-01-01&until=2026-04-04');
    expect(res.status, res.text).toBe(200);
  });

  it('when the range is longer than 93 days, then 400 range_too_long names since and says the limit', async () => {
    const res = await h.call('GET', '/usage/summary?since=2026-01-01&until=2026-04-04T00:00:00.001Z');
    expect(res.status).toBe(400);
    const error = errorOf(res.body);
    expect(error).toMatchObject({ type: 'invalid_request_error', code: 'range_too_long', param: 'since' });
    expect(error.message).toMatch(/at most 93 days/);
  });

  it('when only since is given far back, then the range to now is checked too', async () => {
    // The harness clock is 2026-01-02T03:04:05Z.
    expect((await h.call('GET', '/usage/summary?since=2025-09-01')).status).toBe(400);
    expect((await h.call('GET', '/usage/summary?since=2025-12-01')).status).toBe(200);
  });

  it('when neither is given, then the last 30 days up to now are summarized', async () => {
    const res = await h.call('GET', '/usage/summary');
    expect(obj(res.body)).toMatchObject({
      group_by: 'model',
      since: '2025-12-03T03:04:05.000Z',
      until: '2026-01-02T03:04:05.000Z',
      data: [],
    });
  });

  it.each([
    ['since=2026-03-02&until=2026-03-01', 'since'],
    ['since=2026-03-01&until=2026-03-01', 'since'],
    ['group_by=account', 'group_by'],
    ['format=pdf', 'format'],
    ['until=soon', 'until'],
  ])('?%s → 400 naming %s', async (query, param) => {
    const res = await h.call('GET', `/usage/summary?${query}`);
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({ type: 'invalid_request_error', param });
  });
});
