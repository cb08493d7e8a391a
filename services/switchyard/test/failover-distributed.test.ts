import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '@switchyard/mock-upstream';
import {
  adminCall,
  configVersion,
  distributedSuite,
  startDistributedStack,
  type DistributedStack,
  propagated,
  REDIS_URL,
  startRelayBehindRedisProxy,
} from './distributed-harness.js';
import type { RoleHandle } from '../src/index.js';

/**
 * Failover across two relays that share nothing but Redis (cooldowns, health reports), NATS and the
 * control plane over gRPC (auth-failure reports, snapshots): what one relay learns about an account,
 * the other acts on.
 */
const suite = distributedSuite('failover', 'ef');
const PREFIX = suite.redisPrefix;
const run = suite.run;
const messages = [{ role: 'user', content: 'hello two relays' }];

let stack: DistributedStack;
let database: DistributedStack['database'];
let mock: MockUpstream;
let cp: RoleHandle;
let relays: [RoleHandle, RoleHandle];
let seq = 0;

const admin = <T>(method: string, route: string, body?: unknown) =>
  adminCall<T>(cp, suite.adminToken, method, route, body);

interface Pool {
  channelId: number;
  accountIds: number[];
  credentials: string[];
  key: string;
  model: string;
}

async function pool(n: number, extra: Record<string, unknown> = {}): Promise<Pool> {
  seq++;
  const model = `two-relays-${seq}`;
  const credentials = Array.from({ length: n }, (_, i) => `sk-two${seq}-${i}-${run}`);
  const ch = await admin<{ id: number; accounts: Array<{ id: number }> }>('POST', '/channels', {
    name: `two-relays-${seq}`,
    provider: 'openai',
    base_url: `${mock.url}/v1`,
    models: [model],
    accounts: credentials.map((api_key, i) => ({ name: `a${i}`, api_key })),
    ...extra,
  });
  expect(ch.status).toBe(201);
  const k = await admin<{ key: string }>('POST', '/keys', {
    name: `two-${seq}`,
    pinned_channel_id: ch.body.id,
  });
  await propagated(cp, relays);
  return {
    channelId: ch.body.id,
    accountIds: ch.body.accounts.map((a) => a.id),
    credentials,
    key: k.body.key,
    model,
  };
}

async function chat(relay: RoleHandle, p: Pool): Promise<number> {
  const res = await fetch(`${relay.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${p.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: p.model, messages }),
  });
  await res.arrayBuffer();
  return res.status;
}

function hits(credential: string, since = 0): number {
  return mock.requests.filter(
    (r) => r.headers.authorization === `Bearer ${credential}` && r.receivedAt >= since,
  ).length;
}

beforeAll(async () => {
  stack = await startDistributedStack(suite, { relayIds: ['relay-a', 'relay-b'] });
  ({ database, cp } = stack);
  relays = stack.relays as [RoleHandle, RoleHandle];
  mock = await startMockUpstream({ name: 'failover-distributed' });
});

afterEach(() => mock.reset());

afterAll(async () => {
  await mock?.close();
  await stack?.close();
});

describe('failover across two relays', () => {
  it('when an account answers 429 with Retry-After: 2 on one relay, then neither relay sends it traffic for 2 s, and both do after', async () => {
    const p = await pool(2);
    const [limited, other] = p.credentials as [string, string];
    mock.setCredentialFaults(limited, { status: 429, retryAfterSeconds: 2 });
    for (let i = 0; i < 6 && hits(limited) === 0; i++) expect(await chat(relays[0], p)).toBe(200);
    expect(hits(limited)).toBe(1);
    const limitedAt = mock.requests.find((r) => r.headers.authorization === `Bearer ${limited}`)!.receivedAt;
    mock.setCredentialFaults(limited, null);
    // The cooldown lives in Redis: relay B never saw the 429 and still keeps away.
    let n = 0;
    while (Date.now() < limitedAt + 1_700) {
      expect(await chat(relays[n++ % 2]!, p)).toBe(200);
    }
    expect(n).toBeGreaterThan(4);
    expect(hits(limited)).toBe(1);
    expect(hits(other)).toBeGreaterThan(4);
    // The cooldown's end is itself the event awaited here: a time, not a signal.
    await new Promise((r) => setTimeout(r, Math.max(0, limitedAt + 2_100 - Date.now())));
    for (const relay of relays) {
      for (let i = 0; i < 4 && hits(limited, limitedAt + 2_000) === 0; i++)
        expect(await chat(relay, p)).toBe(200);
    }
    expect(hits(limited, limitedAt + 2_000)).toBeGreaterThan(0);
  });

  it('when relay A cools an overloaded account down, then relay B skips it and the cooldown is visible in Redis and the admin API', async () => {
    const p = await pool(2, { account_strategy: 'fill-first' });
    const [first, second] = p.credentials as [string, string];
    mock.setCredentialFaults(first, { status: 529, retryAfterSeconds: 30 });
    expect(await chat(relays[0], p)).toBe(200);
    expect(hits(first)).toBe(1);
    const redis = new Redis(REDIS_URL);
    try {
      const until = Number(await redis.get(`${PREFIX}cd:acct:${p.accountIds[0]}`));
      expect(until).toBeGreaterThan(Date.now() + 20_000);
    } finally {
      redis.disconnect();
    }
    for (let i = 0; i < 5; i++) expect(await chat(relays[1], p)).toBe(200);
    expect(hits(first)).toBe(1);
    expect(hits(second)).toBe(6);
    const acct = await admin<{ health: { status: string; cooldown_until: string | null } }>(
      'GET',
      `/accounts/${p.accountIds[0]}`,
    );
    expect(acct.body.health.status).toBe('cooling_down');
    expect(Date.parse(acct.body.health.cooldown_until!)).toBeGreaterThan(Date.now() + 20_000);
    // Re-enabling clears the cooldown for every relay at once.
    mock.setCredentialFaults(first, null);
    expect((await admin('POST', `/accounts/${p.accountIds[0]}/enable`)).status).toBe(200);
    await propagated(cp, relays);
    expect(await chat(relays[1], p)).toBe(200);
    expect(hits(first)).toBe(2);
  });

  it('when an upstream rejects an account with 401 on relay B, then the control plane disables it for both relays with the reason', async () => {
    const p = await pool(2, { account_strategy: 'fill-first' });
    mock.setCredentialFaults(p.credentials[0]!, { status: 401 });
    expect(await chat(relays[1], p)).toBe(200);
    const acct = await admin<{ enabled: boolean; disabled_by: string; disabled_reason: string }>(
      'GET',
      `/accounts/${p.accountIds[0]}`,
    );
    expect(acct.body).toMatchObject({ enabled: false, disabled_by: 'auto' });
    expect(acct.body.disabled_reason).toMatch(/401/);
    await propagated(cp, relays);
    for (let i = 0; i < 3; i++) expect(await chat(relays[0], p)).toBe(200);
    expect(hits(p.credentials[0]!)).toBe(1);
  });

  it('when both relays served an account, then the admin API shows each relay’s breaker report', async () => {
    const p = await pool(1);
    for (const relay of relays) expect(await chat(relay, p)).toBe(200);
    const t0 = Date.now();
    let breaker: Array<{ relay: string; state: string }> = [];
    // Relays report health at most once a second; poll the admin API until both reports arrived.
    while (Date.now() - t0 < 5_000) {
      const acct = await admin<{ health: { breaker: Array<{ relay: string; state: string }> } }>(
        'GET',
        `/accounts/${p.accountIds[0]}`,
      );
      breaker = acct.body.health.breaker;
      if (breaker.length === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(breaker.map((b) => b.relay).sort()).toEqual(['relay-a', 'relay-b']);
    expect(breaker.every((b) => b.state === 'closed')).toBe(true);
  });

  it('when a relay cannot reach Redis, then it still honours the cooldowns it sets itself, and says it is degraded', async () => {
    const p = await pool(2, { account_strategy: 'fill-first' });
    const { relay, proxy } = await startRelayBehindRedisProxy(suite, database.url, cp, {
      SWITCHYARD_RELAY_ID: 'relay-cut-off',
    });
    try {
      expect(await chat(relay, p)).toBe(200);
      proxy.cut();
      mock.setCredentialFaults(p.credentials[0]!, { status: 429, retryAfterSeconds: 30 });
      // The first account answers 429 once; the relay keeps away from it with Redis gone.
      expect(await chat(relay, p)).toBe(200);
      // A new snapshot drops the relay's cached cooldown reads, so what keeps it away now is the
      // per-process store it fell back to.
      await admin('POST', '/keys', { name: `snapshot-bump-${run}` });
      const want = await configVersion(cp);
      while ((await configVersion(relay)) < want) await new Promise((r) => setTimeout(r, 10));
      for (let i = 0; i < 4; i++) expect(await chat(relay, p)).toBe(200);
      expect(hits(p.credentials[0]!)).toBe(2);
      expect(hits(p.credentials[1]!)).toBe(5);
      const ready = (await (await fetch(`${relay.url}/readyz`)).json()) as { checks: { redis: string } };
      expect(ready.checks.redis).toMatch(/^down/);
    } finally {
      await relay.close();
      await proxy.close();
    }
  });
});
