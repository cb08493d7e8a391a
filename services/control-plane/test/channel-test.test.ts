import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutboundDispatchers } from '@switchyard/adapters';
import { startMockUpstream, type MockUpstream } from '@switchyard/mock-upstream';
import { ChannelRepository } from '../src/channel-repository.js';
import { ChannelTester } from '../src/channel-tester.js';
import type { UpstreamPolicy } from '../src/upstream-policy.js';
import { type AdminHarness, channelBody, obj, startAdminHarness } from './admin-harness.js';
import { checkSchema, type JsonSchema } from './json-schema-check.js';
import { OPENAPI } from './openapi-document.js';

const RESULT_SCHEMA: JsonSchema = { $ref: '#/components/schemas/ChannelTestResult' };

const KEY = 'sk-upstream-test-key-0123456789';
const PROXY_URL = 'http://proxy-user:proxy-pass-SECRET@127.0.0.1:9';

interface TestView {
  channel_id: number;
  results: Array<{
    account_id: number;
    account_name: string;
    ok: boolean;
    status: number | null;
    latency_ms: number;
    model: string;
    error: { code: string; message: string } | null;
  }>;
}

describe('POST /channels/:id/test and /accounts/:id/test', () => {
  let h: AdminHarness;
  let mock: MockUpstream;
  beforeEach(async () => {
    h = await startAdminHarness();
    mock = await startMockUpstream({ requireKey: KEY });
  });
  afterEach(async () => {
    await h.close();
    await mock.close();
  });

  async function createChannel(overrides: Record<string, unknown> = {}) {
    const res = await h.call('POST', '/channels', {
      json: channelBody({
        base_url: `${mock.url}/v1`,
        models: ['gpt-4o-mini'],
        accounts: [{ name: 'main', api_key: KEY }],
        ...overrides,
      }),
    });
    expect(res.status).toBe(201);
    const channel = obj(res.body);
    return {
      id: channel.id as number,
      accounts: channel.accounts as Array<{ id: number; name: string; enabled: boolean }>,
    };
  }

  /** Calls a test endpoint; a 200 answer must match the documented ChannelTestResult. */
  async function test(path: string, json?: unknown) {
    const res = await h.call('POST', path, json === undefined ? {} : { json });
    if (res.status === 200) expect(checkSchema(res.body, RESULT_SCHEMA, OPENAPI)).toEqual([]);
    return { ...res, view: res.body as TestView };
  }

  it('when the upstream answers, then 200 with ok, status 200, a positive latency and the tested model; the request was one "ping" with one output token', async () => {
    const channel = await createChannel();
    const res = await test(`/channels/${channel.id}/test`);
    expect(res.status).toBe(200);
    expect(res.view).toEqual({
      channel_id: channel.id,
      results: [
        {
          account_id: channel.accounts[0]!.id,
          account_name: 'main',
          ok: true,
          status: 200,
          latency_ms: expect.any(Number),
          model: 'gpt-4o-mini',
          error: null,
        },
      ],
    });
    expect(res.view.results[0]!.latency_ms).toBeGreaterThan(0);
    expect(mock.requests).toHaveLength(1);
    expect(mock.requests[0]).toMatchObject({
      path: '/v1/chat/completions',
      body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }], max_completion_tokens: 1 },
    });
    expect(res.text).not.toContain(KEY);
    expect(h.logText()).not.toContain(KEY);
  });

  it('when the upstream answers HTTP 500, then 200 with ok false, status 500 and an upstream_error', async () => {
    const channel = await createChannel();
    mock.setFaults({ status: 500 });
    const res = await test(`/channels/${channel.id}/test`);
    expect(res.status).toBe(200);
    expect(res.view.results).toEqual([
      expect.objectContaining({
        ok: false,
        status: 500,
        error: { code: 'upstream_error', message: expect.stringContaining('HTTP 500') },
      }),
    ]);
  });

  it('when the upstream rejects the key of an enabled account, then it is only reported: the account stays enabled and no snapshot is published', async () => {
    const channel = await createChannel({ accounts: [{ name: 'stale', api_key: 'sk-revoked-key-000000' }] });
    const version = h.controlPlane.configSource.current().version;
    const res = await test(`/channels/${channel.id}/test`);
    expect(res.view.results).toEqual([
      expect.objectContaining({
        ok: false,
        status: 401,
        error: expect.objectContaining({ code: 'upstream_auth_failed' }),
      }),
    ]);
    expect(res.text).not.toContain('sk-revoked-key-000000');
    const row = await h.db
      .selectFrom('accounts')
      .select(['enabled', 'disabled_by'])
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ enabled: 1, disabled_by: null });
    expect(h.controlPlane.configSource.current().version).toBe(version);
  });

  it('when the channel or the account does not exist, then 404 in the admin error shape', async () => {
    const channel = await createChannel();
    for (const path of ['/channels/999/test', '/channels/abc/test', '/accounts/999/test']) {
      const res = await h.call('POST', path);
      expect(res.status, path).toBe(404);
      expect(obj(obj(res.body).error).code).toMatch(/_not_found$/);
    }
    const res = await test(`/channels/${channel.id}/test`, { account_id: 999 });
    expect(res.status).toBe(404);
    expect(obj(obj(res.body).error)).toMatchObject({ code: 'account_not_found', param: 'account_id' });
    expect(mock.requests).toHaveLength(0);
  });

  it('when one account is tested by its id, then the answer carries its channel and only that account, disabled or not', async () => {
    const channel = await createChannel({
      accounts: [
        { name: 'a', api_key: KEY },
        { name: 'b', api_key: KEY },
      ],
    });
    const second = channel.accounts[1]!;
    await h.db
      .updateTable('accounts')
      .set({ enabled: 0, disabled_by: 'admin' })
      .where('id', '=', second.id)
      .execute();
    const res = await test(`/accounts/${second.id}/test`, { model: 'gpt-4o' });
    expect(res.status).toBe(200);
    expect(res.view).toEqual({
      channel_id: channel.id,
      results: [
        expect.objectContaining({ account_id: second.id, account_name: 'b', ok: true, model: 'gpt-4o' }),
      ],
    });
    const viaChannel = await test(`/channels/${channel.id}/test`, { account_id: second.id });
    expect(viaChannel.view.results.map((r) => r.account_id)).toEqual([second.id]);
  });

  it('when a channel has more than 10 enabled accounts and some disabled ones, then only the first 10 enabled ones are tested', async () => {
    const accounts = Array.from({ length: 12 }, (_, i) => ({ name: `acct-${i}`, api_key: KEY }));
    const channel = await createChannel({ accounts });
    await h.db
      .updateTable('accounts')
      .set({ enabled: 0 })
      .where('id', '=', channel.accounts[0]!.id)
      .execute();
    const res = await test(`/channels/${channel.id}/test`);
    expect(res.view.results.map((r) => r.account_name)).toEqual(
      Array.from({ length: 10 }, (_, i) => `acct-${i + 1}`),
    );
    expect(mock.requests).toHaveLength(10);
  });

  it('when no model is given, then a glob-only channel tests its first model_mapping target, a requested client model is mapped, and a channel with nothing usable is a 400', async () => {
    const mapped = await createChannel({
      models: ['gpt-4o*'],
      model_mapping: { fast: 'gpt-4o-mini', 'g*': 'x*' },
    });
    expect((await test(`/channels/${mapped.id}/test`)).view.results[0]!.model).toBe('gpt-4o-mini');
    expect((await test(`/channels/${mapped.id}/test`, { model: 'fast' })).view.results[0]!.model).toBe(
      'gpt-4o-mini',
    );

    const globs = await createChannel({ models: ['gpt-*'] });
    const res = await h.call('POST', `/channels/${globs.id}/test`);
    expect(res.status).toBe(400);
    expect(obj(obj(res.body).error)).toMatchObject({ code: 'no_test_model', param: 'model' });
  });

  it('when the body has an unknown field, then 400 naming it', async () => {
    const channel = await createChannel();
    const res = await h.call('POST', `/channels/${channel.id}/test`, { json: { modle: 'x' } });
    expect(res.status).toBe(400);
    expect(obj(obj(res.body).error).param).toBe('modle');
  });

  it('when an Anthropic channel is tested, then the request goes through the Anthropic codec and passes', async () => {
    const channel = await createChannel({
      provider: 'anthropic',
      base_url: mock.url,
      models: ['claude-sonnet-4-5'],
    });
    const res = await test(`/channels/${channel.id}/test`);
    expect(res.view.results).toEqual([expect.objectContaining({ ok: true, status: 200 })]);
    expect(mock.requests[0]).toMatchObject({ path: '/v1/messages', body: { max_tokens: 1 } });
  });
});

describe('ChannelTester', () => {
  let h: AdminHarness;
  let mock: MockUpstream;
  let agent: Agent;
  beforeEach(async () => {
    h = await startAdminHarness();
    mock = await startMockUpstream();
    agent = new Agent();
  });
  afterEach(async () => {
    await agent.close();
    await h.close();
    await mock.close();
  });

  function tester(
    policy: UpstreamPolicy,
    dispatcherFor: (proxyUrl: string | null) => Dispatcher,
    timeoutMs?: number,
  ) {
    return new ChannelTester({
      db: h.db,
      secretBox: h.secretBox,
      policy,
      dispatcherFor,
      logger: pino({ level: 'silent' }),
      now: Date.now,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  }

  async function storedChannel() {
    const res = await h.call('POST', '/channels', {
      json: channelBody({
        base_url: `${mock.url}/v1`,
        models: ['gpt-4o-mini'],
        accounts: [{ api_key: KEY }],
      }),
    });
    const channel = await new ChannelRepository(h.db).get(obj(res.body).id as number);
    if (channel === undefined) throw new Error('channel not stored');
    return { channel, account: channel.accounts[0]! };
  }

  it('when the upstream name resolves to an address the connect-time guard refuses, then the result says upstream_address_refused', async () => {
    const res = await h.call('POST', '/channels', {
      json: channelBody({
        base_url: `http://upstream.example.test:${new URL(mock.url).port}/v1`,
        models: ['gpt-4o-mini'],
        accounts: [{ api_key: KEY }],
      }),
    });
    const channel = await new ChannelRepository(h.db).get(obj(res.body).id as number);
    // The name passes the save-time check (names are not resolved there); it resolves to loopback,
    // which these dispatchers do not allow.
    const guarded = new OutboundDispatchers({
      policy: { allow: [] },
      lookup: async () => [{ address: '127.0.0.1', family: 4 }],
    });
    try {
      const result = await tester({ allow: [] }, (proxyUrl) =>
        guarded.dispatcherFor({ proxyUrl, connectTimeoutMs: 5_000 }),
      ).testAccount(channel!, channel!.accounts[0]!, 'gpt-4o-mini');
      expect(result).toMatchObject({ ok: false, status: null, error: { code: 'upstream_address_refused' } });
      expect(mock.requests).toHaveLength(0);
    } finally {
      await guarded.close();
    }
  });

  it('when the policy does not allow the upstream host, then the test fails before connecting', async () => {
    const { channel, account } = await storedChannel();
    const result = await tester({ allow: [] }, () => agent).testAccount(channel, account, 'gpt-4o-mini');
    expect(result).toMatchObject({
      ok: false,
      status: null,
      latencyMs: 0,
      error: {
        code: 'upstream_address_refused',
        message: expect.stringContaining('SWITCHYARD_UPSTREAM_ALLOW'),
      },
    });
    expect(mock.requests).toHaveLength(0);
  });

  it('when the account has a proxy, then its decrypted URL picks the dispatcher and appears nowhere in the result', async () => {
    const { channel, account } = await storedChannel();
    const now = Date.now();
    const proxy = await h.db
      .insertInto('proxies')
      .values({
        name: 'egress',
        url: h.secretBox.encrypt(PROXY_URL),
        display_url: 'http://***@127.0.0.1:9',
        max_accounts: null,
        enabled: 1,
        created_at: now,
        updated_at: now,
      })
      .executeTakeFirstOrThrow();
    const proxyId = Number(proxy.insertId);
    await h.db.updateTable('accounts').set({ proxy_id: proxyId }).where('id', '=', account.id).execute();
    const withProxy = (await new ChannelRepository(h.db).get(channel.id))!;
    const asked: Array<string | null> = [];
    const t = tester({ allow: ['loopback'] }, (proxyUrl) => {
      asked.push(proxyUrl);
      return agent;
    });
    const result = await t.testAccount(withProxy, withProxy.accounts[0]!, 'gpt-4o-mini');
    expect(asked).toEqual([PROXY_URL]);
    expect(result.ok).toBe(true);
    expect(JSON.stringify(result)).not.toContain('proxy-pass-SECRET');

    await h.db.updateTable('proxies').set({ enabled: 0 }).where('id', '=', proxyId).execute();
    const disabled = await t.testAccount(withProxy, withProxy.accounts[0]!, 'gpt-4o-mini');
    expect(disabled).toMatchObject({ ok: false, error: { code: 'proxy_unavailable' } });
    expect(asked).toHaveLength(1);
  });

  it('when the upstream never answers, then the test ends at its timeout as upstream_timeout', async () => {
    const { channel, account } = await storedChannel();
    mock.setFaults({ hang: true });
    // Why 200 ms: long enough for the request to arrive, short enough to keep the test quick.
    const result = await tester({ allow: ['loopback'] }, () => agent, 200).testAccount(
      channel,
      account,
      'gpt-4o-mini',
    );
    expect(result).toMatchObject({ ok: false, status: null, error: { code: 'upstream_timeout' } });
    expect(result.latencyMs).toBeGreaterThanOrEqual(200);
  });

  it('when the base_url answers 200 with something that is not an answer, then the test fails as upstream_bad_response', async () => {
    const { channel, account } = await storedChannel();
    const page = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>'),
    );
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = page.address() as AddressInfo;
      const misdirected = { ...channel, baseUrl: `http://127.0.0.1:${port}/v1` };
      const result = await tester({ allow: ['loopback'] }, () => agent).testAccount(
        misdirected,
        account,
        'gpt-4o-mini',
      );
      expect(result).toMatchObject({ ok: false, status: 200, error: { code: 'upstream_bad_response' } });
    } finally {
      await new Promise<void>((resolve) => page.close(() => resolve()));
    }
  });
});
