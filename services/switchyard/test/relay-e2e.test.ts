import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectedCompletion, type MockUpstream } from '@switchyard/mock-upstream';
import type { OpenAIErrorBody } from '@switchyard/providers';
import {
  NO_BREAKER,
  resetAccountHealth,
  startMocks,
  startTestGateway,
  type ChannelView,
  type KeyView,
  type TestGateway,
  type UsageRow,
} from './harness.js';

/**
 * The all-in-one gateway and mock upstreams on free ports, driven with the official `openai` client.
 * Channels: `primary` (priority 10) and `backup` (priority 0) both serve gpt-4o; `mapped` serves the
 * alias `house-model` as gpt-4o-mini upstream.
 */
let t: TestGateway;
let primary: MockUpstream;
let backup: MockUpstream;
let mapped: MockUpstream;
let channels: Record<string, ChannelView>;
let key: KeyView;
let client: OpenAI;

const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Say hello to the gateway' },
];

async function usageFor(requestId: string): Promise<UsageRow> {
  await t.gw.idle();
  const res = await t.admin<{ data: UsageRow[] }>('GET', `/usage?key_id=${key.id}&limit=500`);
  const row = res.body.data.find((r) => r.request_id === requestId);
  if (!row) throw new Error(`no usage row for ${requestId}`);
  return row;
}

/** The gateway's own request id of the last request, from its log line. */
function lastRequestId(): string {
  const line = t.logs.filter((l) => l.msg === 'request').at(-1);
  return String(line?.request_id);
}

beforeAll(async () => {
  [primary, backup, mapped] = await startMocks(3);
  t = await startTestGateway({
    SWITCHYARD_UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '400',
    SWITCHYARD_BODY_LIMIT_BYTES: '65536',
  });
  const mk = async (name: string, mock: MockUpstream, extra: Record<string, unknown>) => {
    const r = await t.admin<ChannelView>('POST', '/channels', {
      name,
      provider: 'openai',
      base_url: `${mock.url}/v1`,
      accounts: [{ name: `${name}-acct`, api_key: `sk-upstream-${name}` }],
      ...NO_BREAKER,
      ...extra,
    });
    expect(r.status).toBe(201);
    return r.body;
  };
  channels = {
    primary: await mk('primary', primary, { models: ['gpt-4o', 'gpt-4o-*'], priority: 10 }),
    backup: await mk('backup', backup, { models: ['gpt-4o'], priority: 0 }),
    mapped: await mk('mapped', mapped, {
      models: ['unused'],
      model_mapping: { 'house-model': 'gpt-4o-mini' },
    }),
  };
  const k = await t.admin<KeyView>('POST', '/keys', { name: 'e2e' });
  expect(k.status).toBe(201);
  key = k.body;
  client = new OpenAI({ apiKey: key.key, baseURL: `${t.gw.url}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await t?.stop();
  await Promise.all([primary, backup, mapped].map((m) => m?.close()));
});

afterEach(async () => {
  for (const m of [primary, backup, mapped]) m.reset();
  await resetAccountHealth(t);
});

describe('chat completions through the gateway', () => {
  it('when a plain chat is sent, then the upstream answer and exact usage come back and are logged', async () => {
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages });
    const exp = expectedCompletion({ model: 'gpt-4o', messages });
    expect(res.choices[0]?.message.content).toBe(exp.content);
    expect(res.usage).toEqual({
      prompt_tokens: exp.promptTokens,
      completion_tokens: exp.completionTokens,
      total_tokens: exp.promptTokens + exp.completionTokens,
    });
    // The primary channel (priority 10) answered, with its own account's key.
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(0);
    expect(primary.requests[0]?.headers.authorization).toBe('Bearer sk-upstream-primary');
    const row = await usageFor(lastRequestId());
    expect(row).toMatchObject({
      key_id: key.id,
      channel_id: channels.primary!.id,
      model: 'gpt-4o',
      upstream_model: 'gpt-4o',
      prompt_tokens: exp.promptTokens,
      completion_tokens: exp.completionTokens,
      total_tokens: exp.promptTokens + exp.completionTokens,
      status: 'ok',
      stream: false,
    });
  });

  it('when the body has fields the gateway does not know, then they reach the upstream unchanged', async () => {
    await client.chat.completions.create({
      model: 'gpt-4o',
      messages,
      temperature: 0.25,
      // @ts-expect-error -- a vendor extension the SDK does not type
      vendor_extension: { nested: [1, 'two', null] },
    });
    const body = primary.requests[0]?.body as Record<string, unknown>;
    expect(body.temperature).toBe(0.25);
    expect(body.vendor_extension).toEqual({ nested: [1, 'two', null] });
    expect(body.messages).toEqual(messages);
  });

  it('when a chat is streamed without include_usage, then chunks arrive, the usage chunk is stripped and usage is still recorded', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true });
    let text = '';
    const usageChunks: unknown[] = [];
    let chunks = 0;
    for await (const c of stream) {
      chunks++;
      text += c.choices[0]?.delta.content ?? '';
      if (c.usage) usageChunks.push(c.usage);
    }
    const exp = expectedCompletion({ model: 'gpt-4o', messages });
    expect(text).toBe(exp.content);
    expect(chunks).toBeGreaterThanOrEqual(exp.chunks.length);
    expect(usageChunks).toEqual([]);
    // The gateway asked the upstream for usage on the client's behalf.
    expect((primary.requests[0]?.body as { stream_options?: unknown }).stream_options).toEqual({
      include_usage: true,
    });
    const row = await usageFor(lastRequestId());
    expect(row).toMatchObject({
      prompt_tokens: exp.promptTokens,
      completion_tokens: exp.completionTokens,
      total_tokens: exp.promptTokens + exp.completionTokens,
      status: 'ok',
      stream: true,
    });
  });

  it('when a streamed chat asks for usage, then the final usage chunk reaches the client', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const usages = [];
    for await (const c of stream) if (c.usage) usages.push(c.usage);
    const exp = expectedCompletion({ model: 'gpt-4o', messages });
    expect(usages).toEqual([
      {
        prompt_tokens: exp.promptTokens,
        completion_tokens: exp.completionTokens,
        total_tokens: exp.promptTokens + exp.completionTokens,
      },
    ]);
  });

  it('when the model is an alias in a channel mapping, then the upstream receives the mapped model', async () => {
    const res = await client.chat.completions.create({ model: 'house-model', messages });
    expect(mapped.requests).toHaveLength(1);
    expect((mapped.requests[0]?.body as { model: string }).model).toBe('gpt-4o-mini');
    expect(res.choices[0]?.message.content).toBe(
      expectedCompletion({ model: 'gpt-4o-mini', messages }).content,
    );
    const row = await usageFor(lastRequestId());
    expect(row).toMatchObject({
      model: 'house-model',
      upstream_model: 'gpt-4o-mini',
      channel_id: channels.mapped!.id,
    });
  });

  it('when a glob matches the model, then that channel serves it', async () => {
    await client.chat.completions.create({ model: 'gpt-4o-2024-08-06', messages });
    expect(primary.requests).toHaveLength(1);
    expect((primary.requests[0]?.body as { model: string }).model).toBe('gpt-4o-2024-08-06');
  });

  it('when the client sends x-request-id, then it is echoed back', async () => {
    const { response } = await client.chat.completions
      .create({ model: 'gpt-4o', messages }, { headers: { 'x-request-id': 'trace-abc-123' } })
      .withResponse();
    expect(response.headers.get('x-request-id')).toBe('trace-abc-123');
    const line = t.logs.filter((l) => l.msg === 'request').at(-1);
    expect(line?.client_request_id).toBe('trace-abc-123');
    const row = await usageFor(String(line?.request_id));
    expect(row.client_request_id).toBe('trace-abc-123');
    expect(row.request_id).not.toBe('trace-abc-123');
  });
});

describe('account pools', () => {
  it('when a channel has several accounts, then requests rotate over them in round-robin', async () => {
    const [pool] = await startMocks(1);
    const ch = await t.admin<ChannelView>('POST', '/channels', {
      name: 'pool',
      provider: 'openai',
      base_url: `${pool!.url}/v1`,
      models: ['pool-model'],
      accounts: [{ api_key: 'sk-pool-a' }, { api_key: 'sk-pool-b' }, { api_key: 'sk-pool-c' }],
    });
    try {
      for (let i = 0; i < 6; i++) await client.chat.completions.create({ model: 'pool-model', messages });
      const used = pool!.requests.map((r) => r.headers.authorization);
      expect(used).toEqual([
        'Bearer sk-pool-a',
        'Bearer sk-pool-b',
        'Bearer sk-pool-c',
        'Bearer sk-pool-a',
        'Bearer sk-pool-b',
        'Bearer sk-pool-c',
      ]);
    } finally {
      await t.admin('DELETE', `/channels/${ch.body.id}`);
      await pool!.close();
    }
  });
});

describe('models', () => {
  it('when a key lists models, then it sees the exact names and aliases it may use', async () => {
    const list = await client.models.list();
    const ids = list.data.map((m) => m.id);
    expect(ids).toEqual(['gpt-4o', 'house-model', 'unused']);
    expect(list.data[0]).toMatchObject({ object: 'model', owned_by: 'switchyard' });

    const limited = await t.admin<KeyView>('POST', '/keys', { name: 'limited', models: ['house-*'] });
    const c2 = new OpenAI({ apiKey: limited.body.key, baseURL: `${t.gw.url}/v1`, maxRetries: 0 });
    expect((await c2.models.list()).data.map((m) => m.id)).toEqual(['house-model']);
  });
});

describe('failover', () => {
  it.each([
    ['500', { status: 500 }],
    ['429', { status: 429 }],
    ['503', { status: 503 }],
    ['401 (its account key was revoked)', { status: 401 }],
    ['a hung upstream (first-byte timeout)', { hang: true }],
  ])('when the primary answers %s, then the backup serves the request', async (_name, faults) => {
    primary.setFaults(faults);
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages });
    expect(res.choices[0]?.message.content).toBe(expectedCompletion({ model: 'gpt-4o', messages }).content);
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(1);
    const row = await usageFor(lastRequestId());
    expect(row.channel_id).toBe(channels.backup!.id);
    expect(row.status).toBe('ok');
  });

  it('when the primary channel is disabled, then traffic goes to the backup until it is enabled again', async () => {
    expect((await t.admin('PATCH', `/channels/${channels.primary!.id}`, { enabled: false })).status).toBe(
      200,
    );
    try {
      await client.chat.completions.create({ model: 'gpt-4o', messages });
      expect(primary.requests).toHaveLength(0);
      expect(backup.requests).toHaveLength(1);
    } finally {
      await t.admin('PATCH', `/channels/${channels.primary!.id}`, { enabled: true });
    }
    await client.chat.completions.create({ model: 'gpt-4o', messages });
    expect(primary.requests).toHaveLength(1);
  });

  it('when a stream stalls before its first chunk, then the backup streams instead', async () => {
    primary.setFaults({ firstByteDelayMs: 5_000 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe(expectedCompletion({ model: 'gpt-4o', messages }).content);
    expect(backup.requests).toHaveLength(1);
  });

  it('when the primary cannot be reached at all, then the backup serves the request', async () => {
    const dead = await t.admin<ChannelView>('POST', '/channels', {
      name: 'dead',
      provider: 'openai',
      base_url: 'http://127.0.0.1:1/v1',
      models: ['gpt-4o'],
      priority: 100,
      accounts: [{ api_key: 'sk-dead' }],
    });
    try {
      const res = await client.chat.completions.create({ model: 'gpt-4o', messages });
      expect(res.choices[0]?.message.content).toContain('Echo:');
      expect((await usageFor(lastRequestId())).channel_id).toBe(channels.primary!.id);
    } finally {
      await t.admin('DELETE', `/channels/${dead.body.id}`);
    }
  });
});

describe('errors in the OpenAI shape', () => {
  const raw = (path: string, init: RequestInit) => fetch(`${t.gw.url}${path}`, init);

  it('when the key is wrong or missing, then 401', async () => {
    const bad = new OpenAI({ apiKey: 'sk-sy-not-a-key', baseURL: `${t.gw.url}/v1`, maxRetries: 0 });
    await expect(bad.chat.completions.create({ model: 'gpt-4o', messages })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    const res = await raw('/v1/chat/completions', { method: 'POST', body: '{}' });
    expect(res.status).toBe(401);
    expect(((await res.json()) as OpenAIErrorBody).error).toMatchObject({
      type: 'authentication_error',
      code: 'missing_api_key',
    });
  });

  it('when the key is sent as x-api-key, then it is accepted', async () => {
    const res = await raw('/v1/chat/completions', {
      method: 'POST',
      headers: { 'x-api-key': key.key, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages }),
    });
    expect(res.status).toBe(200);
  });

  it('when a key is disabled, then it is refused at once, and accepted again when re-enabled', async () => {
    const k = await t.admin<KeyView>('POST', '/keys', { name: 'toggle' });
    const c = new OpenAI({ apiKey: k.body.key, baseURL: `${t.gw.url}/v1`, maxRetries: 0 });
    await c.chat.completions.create({ model: 'gpt-4o', messages });
    expect((await t.admin('PATCH', `/keys/${k.body.id}`, { enabled: false })).status).toBe(200);
    await expect(c.chat.completions.create({ model: 'gpt-4o', messages })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    await t.admin('PATCH', `/keys/${k.body.id}`, { enabled: true });
    await expect(c.chat.completions.create({ model: 'gpt-4o', messages })).resolves.toBeTruthy();
  });

  it('when a key has expired, then 401', async () => {
    const k = await t.admin<KeyView>('POST', '/keys', { name: 'old', expires_at: '2020-01-01T00:00:00Z' });
    const c = new OpenAI({ apiKey: k.body.key, baseURL: `${t.gw.url}/v1`, maxRetries: 0 });
    const err = await c.chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('api_key_expired');
  });

  it('when the key may not use the model, then 403', async () => {
    const k = await t.admin<KeyView>('POST', '/keys', { name: 'mini-only', models: ['gpt-4o-mini'] });
    const c = new OpenAI({ apiKey: k.body.key, baseURL: `${t.gw.url}/v1`, maxRetries: 0 });
    await expect(c.chat.completions.create({ model: 'gpt-4o', messages })).rejects.toBeInstanceOf(
      OpenAI.PermissionDeniedError,
    );
    expect(primary.requests).toHaveLength(0);
  });

  it('when no channel serves the model, then 404 model_not_found', async () => {
    const err = await client.chat.completions
      .create({ model: 'no-such-model', messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_found');
  });

  it('when the JSON is malformed or fields are missing, then 400', async () => {
    const headers = { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' };
    const bad = await raw('/v1/chat/completions', { method: 'POST', headers, body: '{"model": "gpt-4o", ' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as OpenAIErrorBody).error).toMatchObject({
      type: 'invalid_request_error',
      code: 'invalid_json',
    });
    const noMessages = await raw('/v1/chat/completions', {
      method: 'POST',
      headers,
      body: '{"model":"gpt-4o"}',
    });
    expect(noMessages.status).toBe(400);
    expect(((await noMessages.json()) as OpenAIErrorBody).error.param).toBe('messages');
    await expect(
      // @ts-expect-error -- deliberately missing the model
      client.chat.completions.create({ messages }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('when the body exceeds the limit, then 413 and the upstream is not called', async () => {
    const big = 'x'.repeat(70_000);
    const err = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: big }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    expect(primary.requests).toHaveLength(0);
  });

  it.each([
    [500, 502, 'upstream_error'],
    [503, 503, 'upstream_unavailable'],
    [429, 429, 'rate_limit_exceeded'],
    // The upstream refusing the gateway's own credential is not the caller's 401.
    [401, 502, 'upstream_auth_failed'],
  ])('when every upstream answers %i, then the client gets %i %s', async (upstream, expected, code) => {
    primary.setFaults({ status: upstream });
    backup.setFaults({ status: upstream });
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(expected);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe(code);
    expect(primary.requests.length + backup.requests.length).toBe(2);
    const row = await usageFor(lastRequestId());
    expect(row).toMatchObject({ status: 'error', http_status: expected, total_tokens: 0 });
  });

  it('when every upstream hangs, then 504', async () => {
    primary.setFaults({ hang: true });
    backup.setFaults({ hang: true });
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
  });

  it('when the upstream rejects the request with a 400, then that answer is relayed and not retried', async () => {
    primary.setFaults({ status: 400 });
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(backup.requests).toHaveLength(0);
  });

  it('when the route does not exist, then 404 in the OpenAI shape', async () => {
    const res = await raw('/v1/nope', { method: 'GET', headers: { authorization: `Bearer ${key.key}` } });
    expect(res.status).toBe(404);
    const body = (await res.json()) as OpenAIErrorBody;
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toContain('GET /v1/nope');
  });
});

describe('client abort', () => {
  it('when the client aborts mid-stream, then the upstream request is aborted and usage says aborted', async () => {
    const ac = new AbortController();
    // `mock` and `mock_chunks` are the mock upstream's fault-injection fields, forwarded as unknown fields.
    const params = {
      model: 'gpt-4o',
      messages,
      stream: true as const,
      mock: { chunkDelayMs: 200 },
      mock_chunks: 20,
    };
    const stream = await client.chat.completions.create(params, { signal: ac.signal });
    let got = 0;
    // The SDK ends the iteration quietly when its request is aborted.
    for await (const c of stream) {
      if (c.choices[0]?.delta.content) got++;
      if (got === 2) ac.abort();
    }
    expect(got).toBe(2);
    const aborted = await primary.waitForAbort();
    expect(aborted.path).toBe('/v1/chat/completions');
    await t.gw.idle();
    const res = await t.admin<{ data: UsageRow[] }>('GET', `/usage?key_id=${key.id}&limit=1`);
    expect(res.body.data[0]).toMatchObject({
      status: 'aborted',
      stream: true,
      channel_id: channels.primary!.id,
    });
  });
});

describe('after the first byte', () => {
  it('when the upstream cuts a stream, then the client gets an error event instead of a silent end, and the row says so', async () => {
    const params = {
      model: 'gpt-4o',
      messages,
      stream: true as const,
      mock: { cutAfterChunks: 2 },
      mock_chunks: 6,
    };
    const stream = await client.chat.completions.create(params);
    let text = '';
    const err = await (async () => {
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(text).toBe(
      expectedCompletion({ ...params, messages })
        .chunks.slice(0, 2)
        .join(''),
    );
    // Nothing is retried once bytes reached the client: the backup never saw the request.
    expect(backup.requests).toHaveLength(0);
    const row = await usageFor(lastRequestId());
    expect(row).toMatchObject({
      status: 'error',
      error: 'upstream_stream_cut',
      http_status: 200,
      stream: true,
    });
  });
});

describe('logs', () => {
  it('when requests were served, then no key, upstream secret or authorization value was logged', () => {
    const text = t.rawLog();
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toContain(key.key);
    expect(text).not.toContain('sk-upstream-primary');
    expect(text).not.toContain('Bearer');
    const line = t.logs.find((l) => l.msg === 'request');
    expect(line).toMatchObject({ route: '/v1/chat/completions' });
    expect(typeof line?.request_id).toBe('string');
  });
});
