import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseUsd } from '@switchyard/core';
import { countTextTokens, estimatePromptTokens } from '@switchyard/providers';
import { expectedCompletion, type MockUpstream } from '@switchyard/mock-upstream';
import { NO_BREAKER, resetAccountHealth, startMocks, startTestGateway, type TestGateway } from './harness.js';

/**
 * Keys as their owners were promised them, through one all-in-one gateway: refusals in the caller's
 * wire format, cut streams billed by the tokenizer, and every usage row's cost from the price table.
 */
let t: TestGateway;
let mock: MockUpstream;
let seq = 0;

interface UsageView {
  request_id: string;
  model: string;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  status: string;
  cost: string;
  partial: boolean;
}

interface PriceView {
  model: string;
  input_per_million: string;
  output_per_million: string;
  cached_input_per_million: string | null;
  reasoning_per_million: string | null;
  per_request: string;
  per_image: string;
}

beforeAll(async () => {
  [mock] = (await startMocks(1)) as [MockUpstream];
  t = await startTestGateway();
  const ch = await t.admin('POST', '/channels', {
    name: 'tenancy',
    provider: 'openai',
    base_url: `${mock.url}/v1`,
    models: ['gpt-4o-mini', 'gpt-4o', 'mock-priced-1', 'claude-sonnet-4-5'],
    model_mapping: { 'house-model': 'gpt-4o' },
    groups: ['default', 'resale', 'discount'],
    accounts: [{ name: 'a', api_key: 'sk-tenancy-upstream' }],
    ...NO_BREAKER,
  });
  expect(ch.status).toBe(201);
  expect((await t.admin('POST', '/groups', { name: 'resale', price_ratio: 1.5 })).status).toBe(201);
  expect((await t.admin('POST', '/groups', { name: 'discount', price_ratio: '0.8' })).status).toBe(201);
  expect(
    (
      await t.admin('PUT', '/prices/mock-priced-*', {
        input_per_million: '1',
        output_per_million: '2',
        per_request: '0.0001',
      })
    ).status,
  ).toBe(201);
});

afterAll(async () => {
  await t?.stop();
  await mock?.close();
});

async function newKey(fields: Record<string, unknown> = {}): Promise<{ id: number; key: string }> {
  seq++;
  const k = await t.admin<{ id: number; key: string }>('POST', '/keys', {
    name: `tenancy-${seq}`,
    ...fields,
  });
  expect(k.status).toBe(201);
  return k.body;
}

async function usageOf(keyId: number): Promise<UsageView[]> {
  await t.gw.idle();
  const res = await t.admin<{ data: UsageView[] }>('GET', `/usage?key_id=${keyId}`);
  expect(res.status).toBe(200);
  return res.body.data;
}

function openai(
  key: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
) {
  return fetch(`${t.gw.url}/v1/chat/completions`, {
    method: 'POST',
    ...(signal && { signal }),
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hello tenancy' }], ...body }),
  });
}

function anthropic(key: string, body: Record<string, unknown>) {
  return fetch(`${t.gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ max_tokens: 16, messages: [{ role: 'user', content: 'hello tenancy' }], ...body }),
  });
}

describe('refused keys, in the caller’s wire format', () => {
  const cases: Array<{
    name: string;
    setup: () => Promise<{ key: string; model?: string }>;
    status: number;
    code: string;
    openaiType: string;
    anthropicType: string;
  }> = [
    {
      name: 'an expired key',
      setup: async () => {
        const k = await newKey();
        await t.admin('PATCH', `/keys/${k.id}`, { expires_at: '2020-01-01T00:00:00Z' });
        return k;
      },
      status: 401,
      code: 'api_key_expired',
      openaiType: 'authentication_error',
      anthropicType: 'authentication_error',
    },
    {
      name: 'a disabled key',
      setup: async () => newKey({ enabled: false }),
      status: 401,
      code: 'api_key_disabled',
      openaiType: 'authentication_error',
      anthropicType: 'authentication_error',
    },
    {
      name: 'a key used from an address outside its allow-list',
      setup: async () => newKey({ ip_allowlist: ['10.20.30.0/24', '2001:db8::/32'] }),
      status: 403,
      code: 'ip_not_allowed',
      openaiType: 'permission_error',
      anthropicType: 'permission_error',
    },
    {
      name: 'a key asking for a model outside its allow-list',
      setup: async () => ({ ...(await newKey({ models: ['claude-*'] })), model: 'gpt-4o-mini' }),
      status: 403,
      code: 'model_not_allowed',
      openaiType: 'permission_error',
      anthropicType: 'permission_error',
    },
    {
      name: 'a key whose quota is spent',
      setup: async () => newKey({ quota: '0' }),
      status: 402,
      code: 'insufficient_quota',
      openaiType: 'insufficient_quota',
      anthropicType: 'billing_error',
    },
    {
      name: 'a key whose user is disabled',
      setup: async () => {
        const u = await t.admin<{ id: number }>('POST', '/users', {
          name: `disabled-${seq}`,
          enabled: false,
        });
        expect(u.status).toBe(201);
        return newKey({ user_id: u.body.id });
      },
      status: 401,
      code: 'user_disabled',
      openaiType: 'authentication_error',
      anthropicType: 'authentication_error',
    },
    {
      name: 'a key whose user has spent its quota',
      setup: async () => {
        const u = await t.admin<{ id: number }>('POST', '/users', { name: `broke-${seq}`, quota: 0 });
        expect(u.status).toBe(201);
        return newKey({ user_id: u.body.id });
      },
      status: 402,
      code: 'insufficient_quota',
      openaiType: 'insufficient_quota',
      anthropicType: 'billing_error',
    },
  ];

  for (const c of cases) {
    it(`when ${c.name} calls, then OpenAI clients get ${c.status} ${c.code} and Anthropic clients ${c.anthropicType}`, async () => {
      const k = await c.setup();
      const model = k.model ?? 'gpt-4o-mini';
      const o = await openai(k.key, { model });
      expect(o.status).toBe(c.status);
      const ob = (await o.json()) as { error: { type: string; code: string; message: string } };
      expect(ob.error).toMatchObject({ type: c.openaiType, code: c.code });
      expect(ob.error.message.length).toBeGreaterThan(10);
      const a = await anthropic(k.key, { model });
      expect(a.status).toBe(c.status);
      const ab = (await a.json()) as { type: string; error: { type: string; message: string } };
      expect(ab).toMatchObject({ type: 'error', error: { type: c.anthropicType } });
      expect(a.headers.get('request-id')).not.toBeNull();
    });
  }

  it('when a key allows the caller’s address, then it is served', async () => {
    const k = await newKey({ ip_allowlist: ['127.0.0.1/32', '::1'] });
    expect((await openai(k.key, { model: 'gpt-4o-mini' })).status).toBe(200);
  });

  it('when an Anthropic client exceeds its requests per minute, then it gets a 429 rate_limit_error with Retry-After', async () => {
    const k = await newKey({ rpm_limit: 2 });
    expect((await anthropic(k.key, { model: 'gpt-4o-mini' })).status).toBe(200);
    expect((await anthropic(k.key, { model: 'gpt-4o-mini' })).status).toBe(200);
    const a = await anthropic(k.key, { model: 'gpt-4o-mini' });
    expect(a.status).toBe(429);
    expect(await a.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(a.headers.get('x-ratelimit-limit-requests')).toBe('2');
  });
});

describe('the key owner’s dashboard', () => {
  it('when a key of a user reads its dashboard with its own key, then it sees its user’s balance and usage after a request', async () => {
    const u = await t.admin<{ id: number }>('POST', '/users', { name: `owner-${seq}`, quota: '5' });
    expect(u.status).toBe(201);
    const k = await newKey({ user_id: u.body.id });
    expect((await openai(k.key, { model: 'gpt-4o-mini' })).status).toBe(200);
    const [row] = await usageOf(k.id);
    const headers = { authorization: `Bearer ${k.key}` };
    const balance = await fetch(`${t.gw.url}/v1/dashboard/balance`, { headers });
    expect(balance.status).toBe(200);
    const b = (await balance.json()) as { user: { used: string; remaining: string; quota: string } };
    expect(b.user.quota).toBe('5');
    expect(parseUsd(b.user.used)).toBe(parseUsd(row!.cost));
    expect(parseUsd(b.user.remaining)).toBe(parseUsd('5')! - parseUsd(row!.cost)!);
    const usage = await fetch(`${t.gw.url}/v1/dashboard/usage`, { headers });
    expect(usage.status).toBe(200);
    const page = (await usage.json()) as { data: Array<{ request_id: string; cost: string }> };
    expect(page.data.map((r) => r.request_id)).toEqual([row!.request_id]);
    expect(page.data[0]).not.toHaveProperty('account_id');
    const anonymous = await fetch(`${t.gw.url}/v1/dashboard/balance`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { type: 'authentication_error' } });
  });
});

describe('metrics', () => {
  it('when requests are refused and billed, then /metrics counts refusals by scope and reason, and cost by model', async () => {
    const value = async (series: string): Promise<number> => {
      const text = await (await fetch(`${t.gw.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(series));
      return line === undefined ? 0 : Number(line.slice(series.length).trim());
    };
    const refusals = 'switchyard_admission_refusals_total{scope="key",reason="quota"}';
    const cost = 'switchyard_cost_nano_usd_total{model="gpt-4o-mini"}';
    const [refusedBefore, costBefore] = [await value(refusals), await value(cost)];
    const broke = await newKey({ quota: '0' });
    expect((await openai(broke.key, { model: 'gpt-4o-mini' })).status).toBe(402);
    const paying = await newKey();
    expect((await openai(paying.key, { model: 'gpt-4o-mini' })).status).toBe(200);
    const [row] = await usageOf(paying.id);
    expect(await value(refusals)).toBe(refusedBefore + 1);
    expect(await value(cost)).toBe(costBefore + parseUsd(row!.cost)!);
  });
});

/** The text of every content delta of an OpenAI chat stream, concatenated. */
function deltaText(sse: string): string {
  let text = '';
  for (const block of sse.split('\n\n')) {
    const data = block
      .split('\n')
      .find((l) => l.startsWith('data: '))
      ?.slice(6);
    if (data === undefined || data === '[DONE]') continue;
    const obj = JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }> };
    text += obj.choices?.[0]?.delta?.content ?? '';
  }
  return text;
}

describe('cut streams', () => {
  it('when a stream is cut after N chunks, then the row bills exactly the delivered tokens as the tokenizer counts them, marked partial', async () => {
    const k = await newKey();
    mock.setCredentialFaults('sk-tenancy-upstream', { cutAfterChunks: 4 });
    try {
      const res = await openai(k.key, {
        model: 'gpt-4o-mini',
        stream: true,
        mock_chunks: 12,
        messages: [
          { role: 'user', content: 'Tell me a long story about billing exactly what was delivered' },
        ],
      });
      expect(res.status).toBe(200);
      const delivered = deltaText(await res.text());
      expect(delivered.length).toBeGreaterThan(0);
      const [row] = await usageOf(k.id);
      const expected = await countTextTokens('gpt-4o-mini', delivered);
      expect(expected).toBeGreaterThan(0);
      expect(row).toMatchObject({ status: 'error', partial: true, completion_tokens: expected });
      expect(row!.prompt_tokens).toBeGreaterThan(0);
      // 0.15 / 0.60 USD per million for gpt-4o-mini (seeded).
      expect(parseUsd(row!.cost)).toBe(row!.prompt_tokens * 150 + expected * 600);
    } finally {
      mock.setCredentialFaults('sk-tenancy-upstream', null);
      // A cut stream counts against the account; the next tests need it in rotation.
      await resetAccountHealth(t);
    }
  });

  it('when a converted stream (Anthropic client) is cut, then the delivered text is billed by the tokenizer too', async () => {
    const k = await newKey();
    mock.setCredentialFaults('sk-tenancy-upstream', { cutAfterChunks: 3 });
    try {
      const res = await anthropic(k.key, {
        model: 'gpt-4o-mini',
        stream: true,
        mock_chunks: 10,
        messages: [{ role: 'user', content: 'Another story, converted this time' }],
      });
      expect(res.status).toBe(200);
      let delivered = '';
      for (const block of (await res.text()).split('\n\n')) {
        const data = block
          .split('\n')
          .find((l) => l.startsWith('data: '))
          ?.slice(6);
        if (data === undefined) continue;
        const ev = JSON.parse(data) as { type: string; delta?: { type: string; text?: string } };
        if (ev.type === 'content_block_delta' && ev.delta?.type === 'text_delta') delivered += ev.delta.text;
      }
      const [row] = await usageOf(k.id);
      expect(row).toMatchObject({
        status: 'error',
        partial: true,
        completion_tokens: await countTextTokens('gpt-4o-mini', delivered),
      });
    } finally {
      mock.setCredentialFaults('sk-tenancy-upstream', null);
      // A cut stream counts against the account; the next tests need it in rotation.
      await resetAccountHealth(t);
    }
  });
});

describe('clients that leave mid-stream', () => {
  it('when the client disconnects after some chunks, then what reached it is billed by the tokenizer, marked aborted and partial', async () => {
    const k = await newKey();
    mock.setCredentialFaults('sk-tenancy-upstream', { chunkDelayMs: 50 });
    try {
      const body = {
        model: 'gpt-4o-mini',
        stream: true,
        mock_chunks: 40,
        messages: [{ role: 'user', content: 'A slow story the reader will not finish reading today' }],
      };
      const controller = new AbortController();
      const res = await openai(k.key, body, {}, controller.signal);
      const reader = res.body!.getReader();
      let received = '';
      while (deltaText(received).length < 10) {
        const { value } = await reader.read();
        received += new TextDecoder().decode(value);
      }
      controller.abort();
      await reader.cancel().catch(() => undefined);
      const seen = await countTextTokens('gpt-4o-mini', deltaText(received));
      // idle() waits for the request the client left, so its row is there.
      const [row] = await usageOf(k.id);
      expect(row).toMatchObject({ status: 'aborted', partial: true });
      expect(row!.completion_tokens).toBeGreaterThanOrEqual(seen);
      expect(row!.completion_tokens).toBeLessThan(
        await countTextTokens('gpt-4o-mini', expectedCompletion(body, 40).content),
      );
    } finally {
      mock.setCredentialFaults('sk-tenancy-upstream', null);
      await resetAccountHealth(t);
    }
  });
});

describe('upstreams that report no usage', () => {
  const body = {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'An upstream that counts nothing' }],
  };

  it.each([
    ['a plain answer', false],
    ['a streamed answer', true],
  ])(
    'when %s comes without usage, then the tokenizer counts prompt and answer and the row is partial',
    async (_name, stream) => {
      const k = await newKey();
      mock.omitUsage = true;
      try {
        const res = await openai(k.key, { ...body, stream });
        expect(res.status).toBe(200);
        const answer = stream
          ? deltaText(await res.text())
          : ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message
              .content;
        expect(answer).toBe(expectedCompletion(body).content);
        const [row] = await usageOf(k.id);
        const prompt = (await estimatePromptTokens('openai-chat', body, 'gpt-4o-mini')).tokens;
        expect(row).toMatchObject({
          status: 'ok',
          partial: true,
          prompt_tokens: prompt,
          completion_tokens: await countTextTokens('gpt-4o-mini', answer),
        });
        expect(parseUsd(row!.cost)).toBe(row!.prompt_tokens * 150 + row!.completion_tokens * 600);
      } finally {
        mock.omitUsage = false;
      }
    },
  );
});

/** The cost the price table says, computed independently of the gateway's code (BigInt, half up). */
function expectedCost(p: PriceView, row: UsageView, ratio: number): number {
  const n = (usd: string | null) => BigInt(parseUsd(usd ?? '0')!);
  const cached = BigInt(row.cached_tokens);
  const reasoning = BigInt(row.reasoning_tokens);
  const perMillion =
    (BigInt(row.prompt_tokens) - cached) * n(p.input_per_million) +
    cached * n(p.cached_input_per_million ?? p.input_per_million) +
    (BigInt(row.completion_tokens) - reasoning) * n(p.output_per_million) +
    reasoning * n(p.reasoning_per_million ?? p.output_per_million) +
    n(p.per_request) * 1_000_000n;
  const ratioPpm = BigInt(Math.round(ratio * 1e6));
  const d = 1_000_000n * 1_000_000n;
  return Number((perMillion * ratioPpm + d / 2n) / d);
}

describe('prices', () => {
  const cases = [
    {
      name: 'a seeded model',
      model: 'gpt-4o-mini',
      priced: 'gpt-4o-mini',
      group: 'default',
      ratio: 1,
      cached: 0,
      body: {},
    },
    {
      name: 'cached prompt tokens',
      model: 'gpt-4o-mini',
      priced: 'gpt-4o-mini',
      group: 'default',
      ratio: 1,
      cached: 4,
      body: {},
    },
    {
      name: 'a group ratio of 1.5',
      model: 'gpt-4o',
      priced: 'gpt-4o',
      group: 'resale',
      ratio: 1.5,
      cached: 3,
      body: {},
    },
    {
      name: 'a group ratio of 0.8',
      model: 'gpt-4o',
      priced: 'gpt-4o',
      group: 'discount',
      ratio: 0.8,
      cached: 0,
      body: {},
    },
    {
      name: 'an unpriced client model mapped to a priced upstream model',
      model: 'house-model',
      priced: 'gpt-4o',
      group: 'default',
      ratio: 1,
      cached: 0,
      body: {},
    },
    {
      name: 'a glob price with a per-request price',
      model: 'mock-priced-1',
      priced: 'mock-priced-*',
      group: 'resale',
      ratio: 1.5,
      cached: 0,
      body: {},
    },
    {
      name: 'a glob seed with reasoning tokens',
      model: 'claude-sonnet-4-5',
      priced: 'claude-sonnet-4*',
      group: 'default',
      ratio: 1,
      cached: 2,
      body: { reasoning_effort: 'low' },
    },
  ];
  for (const c of cases) {
    it(`when a request uses ${c.name}, then its row's cost is tokens × price × group ratio`, async () => {
      const k = await newKey({ group: c.group });
      mock.cachedTokens = c.cached;
      const res = await openai(k.key, { model: c.model, ...c.body });
      mock.cachedTokens = 0;
      expect(res.status).toBe(200);
      const [row] = await usageOf(k.id);
      expect(row!.cached_tokens).toBe(c.cached);
      if ('reasoning_effort' in c.body) expect(row!.reasoning_tokens).toBeGreaterThan(0);
      const price = await t.admin<PriceView>('GET', `/prices/${encodeURIComponent(c.priced)}`);
      expect(price.status).toBe(200);
      const want = expectedCost(price.body, row!, c.ratio);
      expect(want).toBeGreaterThan(0);
      expect(parseUsd(row!.cost)).toBe(want);
      expect(row!.partial).toBe(false);
      // The key's ledger is charged the same amount once accounting has settled it.
      const view = await t.admin<{ used: string }>('GET', `/keys/${k.id}`);
      expect(parseUsd(view.body.used)).toBe(want);
    });
  }
});
