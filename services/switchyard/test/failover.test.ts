import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startForwardProxy, type MockUpstream } from '@switchyard/mock-upstream';
import { startMocks, startTestGateway, type KeyView, type TestGateway, type UsageRow } from './harness.js';

/**
 * Failover on the all-in-one gateway, driven through mock-upstream faults keyed by account credential:
 * circuit breakers, cooldowns (Retry-After), first-byte timeouts, cut streams and sticky sessions.
 * Each test makes its own channel and key, so breakers and cooldowns of one never reach another.
 */
let t: TestGateway;
let mock: MockUpstream;
let seq = 0;

interface Pool {
  channelId: number;
  accountIds: number[];
  credentials: string[];
  client: OpenAI;
  key: KeyView;
  model: string;
}

/** A channel with `n` accounts serving a model of its own, and a key pinned to it. */
async function pool(n: number, extra: Record<string, unknown> = {}): Promise<Pool> {
  seq++;
  const model = `failover-model-${seq}`;
  const credentials = Array.from({ length: n }, (_, i) => `sk-pool${seq}-acct${i}`);
  const ch = await t.admin<{ id: number; accounts: Array<{ id: number }> }>('POST', '/channels', {
    name: `pool-${seq}`,
    provider: 'openai',
    base_url: `${mock.url}/v1`,
    models: [model],
    accounts: credentials.map((api_key, i) => ({ name: `acct-${i}`, api_key })),
    ...extra,
  });
  expect(ch.status).toBe(201);
  const k = await t.admin<KeyView>('POST', '/keys', { name: `pool-${seq}`, pinned_channel_id: ch.body.id });
  expect(k.status).toBe(201);
  return {
    channelId: ch.body.id,
    accountIds: ch.body.accounts.map((a) => a.id),
    credentials,
    key: k.body,
    client: new OpenAI({ apiKey: k.body.key, baseURL: `${t.gw.url}/v1`, maxRetries: 0 }),
    model,
  };
}

/** Upstream requests that presented `credential`, optionally only those received after `since`. */
function hits(credential: string, since = 0): number {
  return mock.requests.filter(
    (r) => r.headers.authorization === `Bearer ${credential}` && r.receivedAt >= since,
  ).length;
}

async function usageRows(keyId: number): Promise<UsageRow[]> {
  await t.gw.idle();
  const res = await t.admin<{ data: UsageRow[] }>('GET', `/usage?key_id=${keyId}&limit=500`);
  return res.body.data;
}

const messages = [{ role: 'user' as const, content: 'hello failover' }];

beforeAll(async () => {
  [mock] = (await startMocks(1)) as [MockUpstream];
  t = await startTestGateway({ SWITCHYARD_LOG_LEVEL: 'warn' });
});

afterEach(() => mock.reset());

afterAll(async () => {
  await t?.stop();
  await mock?.close();
});

describe('failover', () => {
  it('when one of 3 accounts answers 500 to everything, then ≥ 99.9% of 2,000 requests succeed and its breaker cuts it off', async () => {
    const p = await pool(3);
    const bad = p.credentials[1]!;
    mock.setCredentialFaults(bad, { status: 500 });
    const total = 2000;
    const concurrency = 16;
    let ok = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) {
          next++;
          try {
            await p.client.chat.completions.create({ model: p.model, messages });
            ok++;
          } catch {
            // counted below
          }
        }
      }),
    );
    expect(ok / total).toBeGreaterThanOrEqual(0.999);
    const opened = t.logs.find(
      (l) =>
        l.msg === 'circuit breaker changed state' && l.account_id === p.accountIds[1] && l.breaker === 'open',
    );
    expect(opened).toBeDefined();
    const openedAt = Number(opened!.time);
    // Before it opened: at most the breaker's volume threshold plus what was in flight at that moment.
    expect(hits(bad)).toBeLessThanOrEqual(5 + concurrency);
    // After: nothing, until its reset timeout (30 s, longer than this test) lets one probe through.
    expect(hits(bad, openedAt + 1)).toBeLessThanOrEqual(1);
    // The healthy accounts shared the load.
    expect(hits(p.credentials[0]!)).toBeGreaterThan(500);
    expect(hits(p.credentials[2]!)).toBeGreaterThan(500);
    const health = await t.admin<{ accounts: Array<{ id: number; health: { status: string } }> }>(
      'GET',
      `/channels/${p.channelId}/health`,
    );
    expect(health.status).toBe(200);
    expect(health.body.accounts.find((a) => a.id === p.accountIds[1])?.health.status).toBe('circuit_open');
    expect(health.body.accounts.find((a) => a.id === p.accountIds[0])?.health.status).toBe('healthy');
  }, 60_000);

  it('when an account answers 429 with Retry-After: 2, then it gets no traffic for 2 s and then does again', async () => {
    const p = await pool(2);
    const [limited, other] = p.credentials as [string, string];
    mock.setCredentialFaults(limited, { status: 429, retryAfterSeconds: 2 });
    // Round-robin reaches the limited account within two requests; each request still succeeds.
    for (let i = 0; i < 4 && hits(limited) === 0; i++) {
      await p.client.chat.completions.create({ model: p.model, messages });
    }
    const limitedAt = mock.requests.find((r) => r.headers.authorization === `Bearer ${limited}`)!.receivedAt;
    mock.setCredentialFaults(limited, null);
    // While it cools down, every request goes to the other account.
    while (Date.now() < limitedAt + 1_700) {
      await p.client.chat.completions.create({ model: p.model, messages });
    }
    expect(hits(limited)).toBe(1);
    expect(hits(other)).toBeGreaterThan(2);
    // The cooldown's end is itself the event awaited here: a time, not a signal.
    await new Promise((r) => setTimeout(r, Math.max(0, limitedAt + 2_100 - Date.now())));
    for (let i = 0; i < 4 && hits(limited) === 1; i++) {
      await p.client.chat.completions.create({ model: p.model, messages });
    }
    expect(hits(limited)).toBe(2);
  });

  it('when every account is rate limited, then the client gets a 503 with Retry-After instead of a wait', async () => {
    const p = await pool(2);
    for (const c of p.credentials) mock.setCredentialFaults(c, { status: 429, retryAfterSeconds: 30 });
    const first = await fetch(`${t.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${p.key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: p.model, messages }),
    });
    expect(first.status).toBe(429);
    const before = mock.requests.length;
    const res = await fetch(`${t.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${p.key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: p.model, messages }),
    });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(20);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('no_healthy_upstream');
    expect(mock.requests.length).toBe(before);
  });

  it('when an account hangs before its first byte, then the request fails over after the channel first-byte timeout', async () => {
    const p = await pool(2, { first_byte_timeout_ms: 300, account_strategy: 'fill-first' });
    mock.setCredentialFaults(p.credentials[0]!, { hang: true });
    const t0 = Date.now();
    const stream = await p.client.chat.completions.create({ model: p.model, messages, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(hits(p.credentials[0]!)).toBe(1);
    expect(hits(p.credentials[1]!)).toBe(1);
    const [row] = await usageRows(p.key.id);
    expect(row).toMatchObject({ status: 'ok', account_id: p.accountIds[1] });
    const view = await t.admin<{ first_byte_timeout_ms: number | null }>('GET', `/channels/${p.channelId}`);
    expect(view.body.first_byte_timeout_ms).toBe(300);
  });

  it('when the upstream cuts a stream after 5 chunks, then the client gets those 5 and an error event, and usage is recorded', async () => {
    const p = await pool(1);
    mock.setCredentialFaults(p.credentials[0]!, { cutAfterChunks: 5 });
    const res = await fetch(`${t.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${p.key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: p.model, messages, stream: true }),
    });
    expect(res.status).toBe(200);
    const events = (await res.text())
      .split('\n\n')
      .filter((e) => e.startsWith('data: '))
      .map((e) => e.slice(6));
    const chunks = events.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d) as Record<string, unknown>);
    const content = chunks.filter(
      (c) =>
        ((c.choices as Array<{ delta?: { content?: string } }> | undefined)?.[0]?.delta?.content ?? '') !==
        '',
    );
    expect(content).toHaveLength(5);
    const last = chunks.at(-1) as { error?: { code?: string } };
    expect(last.error?.code).toBe('upstream_stream_cut');
    expect(events).not.toContain('[DONE]');
    const [row] = await usageRows(p.key.id);
    expect(row).toMatchObject({ status: 'error', error: 'upstream_stream_cut', stream: true });
    expect(row!.completion_tokens).toBeGreaterThan(0);
    expect(row!.prompt_tokens).toBeGreaterThan(0);
  });

  it('when sessions are sticky, then one conversation stays on one account while it is healthy and moves when it fails', async () => {
    const p = await pool(3, { sticky_sessions: true });
    const send = (session: string) =>
      p.client.chat.completions.create(
        { model: p.model, messages },
        { headers: { 'x-session-id': session } },
      );
    for (let i = 0; i < 12; i++) await send('conversation-a');
    const used = p.credentials.filter((c) => hits(c) > 0);
    expect(used).toHaveLength(1);
    expect(hits(used[0]!)).toBe(12);
    // Other conversations spread over the pool.
    for (let s = 0; s < 30; s++) await send(`conversation-${s}`);
    expect(p.credentials.filter((c) => hits(c) > 0).length).toBeGreaterThan(1);
    // The sticky account fails: the conversation moves to one other account, and stays there.
    mock.reset();
    mock.setCredentialFaults(used[0]!, { status: 500 });
    for (let i = 0; i < 8; i++) await send('conversation-a');
    const moved = p.credentials.filter((c) => c !== used[0] && hits(c) > 0);
    expect(moved).toHaveLength(1);
    expect(hits(moved[0]!)).toBe(8);
  });

  it('when the upstream rejects an account credential, then the account is disabled with the reason and an admin can re-enable it', async () => {
    const p = await pool(2, { account_strategy: 'fill-first' });
    mock.setCredentialFaults(p.credentials[0]!, { status: 401 });
    await p.client.chat.completions.create({ model: p.model, messages });
    const account = await t.admin<{ enabled: boolean; disabled_by: string; disabled_reason: string }>(
      'GET',
      `/accounts/${p.accountIds[0]}`,
    );
    expect(account.body).toMatchObject({ enabled: false, disabled_by: 'auto' });
    expect(account.body.disabled_reason).toContain('401');
    for (let i = 0; i < 5; i++) await p.client.chat.completions.create({ model: p.model, messages });
    expect(hits(p.credentials[0]!)).toBe(1);
    mock.setCredentialFaults(p.credentials[0]!, null);
    expect((await t.admin('POST', `/accounts/${p.accountIds[0]}/enable`)).status).toBe(200);
    await p.client.chat.completions.create({ model: p.model, messages });
    expect(hits(p.credentials[0]!)).toBe(2);
  });
});

describe('outbound proxies', () => {
  for (const kind of ['http', 'socks5'] as const) {
    it(`when an account is assigned a ${kind} proxy, then its upstream requests really go through that proxy`, async () => {
      const proxy = await startForwardProxy({
        kind,
        auth: { username: 'relay', password: 'proxy-secret-pw' },
      });
      try {
        const u = new URL(proxy.url);
        u.username = 'relay';
        u.password = 'proxy-secret-pw';
        const created = await t.admin<{ id: number; url: string }>('POST', '/proxies', {
          name: `test-${kind}`,
          url: u.toString(),
          max_accounts: 2,
        });
        expect(created.status).toBe(201);
        expect(JSON.stringify(created.body)).not.toContain('proxy-secret-pw');
        const p = await pool(1);
        const direct = await p.client.chat.completions.create({ model: p.model, messages });
        expect(direct.choices[0]?.message.content).toBeTruthy();
        expect(proxy.connections).toHaveLength(0);
        const patched = await t.admin('PATCH', `/accounts/${p.accountIds[0]}`, { proxy_id: created.body.id });
        expect(patched.status).toBe(200);
        const via = await p.client.chat.completions.create({ model: p.model, messages });
        expect(via.choices[0]?.message.content).toBe(direct.choices[0]?.message.content);
        expect(proxy.connections.map((c) => c.target)).toContain(`127.0.0.1:${mock.port}`);
        expect(hits(p.credentials[0]!)).toBe(2);
        expect(t.rawLog()).not.toContain('proxy-secret-pw');
      } finally {
        await proxy.close();
      }
    });
  }
});
