import { Redis } from 'ioredis';
import { Kysely, sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlDialect } from '@switchyard/adapters';
import { parseUsd, type DB } from '@switchyard/core';
import { estimatePromptTokens } from '@switchyard/providers';
import { startMockUpstream, type MockUpstream } from '@switchyard/mock-upstream';
import {
  adminCall,
  distributedSuite,
  startDistributedStack,
  type DistributedStack,
  propagated,
  quietLogger,
  REDIS_URL,
  startRelayBehindRedisProxy,
} from './distributed-harness.js';
import { loadConfig, startAccountingRole, type RoleHandle } from '../src/index.js';

/**
 * Quotas and rate limits across two relays that share only Redis, NATS, MariaDB and the control
 * plane: holds and windows are one shared state, settlement is exact, and a revoked key stops at once.
 */
const suite = distributedSuite('tenancy', 'ab');
const logger = quietLogger;
const MODEL = 'gpt-4o-mini';

let stack: DistributedStack;
let database: DistributedStack['database'];
let db: Kysely<DB>;
let mock: MockUpstream;
let cp: RoleHandle;
let accounting: RoleHandle;
let relays: [RoleHandle, RoleHandle];
let seq = 0;

const env = (extra: Record<string, string>) => suite.env(database.url, extra);
const admin = <T>(method: string, route: string, body?: unknown) =>
  adminCall<T>(cp, suite.adminToken, method, route, body);

interface Tenant {
  keyId: number;
  key: string;
  credential: string;
}

/** A channel of its own (one mock account) and a key pinned to it with the given limits. */
async function tenant(keyFields: Record<string, unknown>): Promise<Tenant> {
  seq++;
  const credential = `sk-tenancy-${seq}-${suite.run}`;
  const ch = await admin<{ id: number }>('POST', '/channels', {
    name: `tenancy-${seq}`,
    provider: 'openai',
    base_url: `${mock.url}/v1`,
    models: [MODEL],
    accounts: [{ name: 'a', api_key: credential }],
    breaker: { volume_threshold: 10_000 },
  });
  expect(ch.status).toBe(201);
  const k = await admin<{ id: number; key: string }>('POST', '/keys', {
    name: `tenancy-${seq}`,
    pinned_channel_id: ch.body.id,
    ...keyFields,
  });
  expect(k.status).toBe(201);
  await propagated(cp, relays);
  return { keyId: k.body.id, key: k.body.key, credential };
}

interface Reply {
  status: number;
  headers: Headers;
  body: { error?: { code?: string; type?: string } };
}

async function chat(relay: RoleHandle, t: Tenant, body: Record<string, unknown>): Promise<Reply> {
  const res = await fetch(`${relay.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, ...body }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Reply['body'] };
}

/** `n` requests at once, alternating between the two relays. */
function burst(t: Tenant, n: number, body: Record<string, unknown>): Promise<Reply[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => chat(relays[i % 2]!, t, body)));
}

/** Waits until both relays released their holds and accounting wrote every usage event. */
async function settled(): Promise<void> {
  for (const r of relays) await r.idle!();
  await accounting.idle!();
}

async function ledger(keyId: number): Promise<{ used: number; rowsCost: number; rows: number }> {
  const key = await db
    .selectFrom('api_keys')
    .select('used_nano')
    .where('id', '=', keyId)
    .executeTakeFirstOrThrow();
  const sum = await db
    .selectFrom('usage_logs')
    .select([sql<string>`coalesce(sum(cost_nano), 0)`.as('cost'), sql<string>`count(*)`.as('n')])
    .where('key_id', '=', keyId)
    .executeTakeFirstOrThrow();
  return { used: Number(key.used_nano), rowsCost: Number(sum.cost), rows: Number(sum.n) };
}

beforeAll(async () => {
  stack = await startDistributedStack(suite, {
    relayIds: ['tenancy-a', 'tenancy-b'],
    controlPlaneEnv: { SWITCHYARD_BALANCE_REFRESH_INTERVAL_MS: '50' },
  });
  ({ database, cp } = stack);
  relays = stack.relays as [RoleHandle, RoleHandle];
  mock = await startMockUpstream({ name: 'tenancy-distributed' });
  accounting = await startAccountingRole(loadConfig(env({})), logger);
  db = new Kysely<DB>({ dialect: createMysqlDialect(database.url) });
});

afterEach(() => mock.reset());

afterAll(async () => {
  await accounting?.close();
  await mock?.close();
  await db?.destroy();
  await stack?.close();
});

describe('quotas across two relays', () => {
  it('when a key has quota for 10 requests and 100 arrive at once on two relays, then at most 11 are admitted and the ledger equals its usage rows', async () => {
    const body = { messages: [{ role: 'user', content: 'quota probe' }], max_tokens: 5 };
    // One request's real cost, measured on a key without a quota.
    const probe = await tenant({});
    expect((await chat(relays[0], probe, body)).status).toBe(200);
    await settled();
    const one = (await ledger(probe.keyId)).rowsCost;
    expect(one).toBeGreaterThan(0);

    const t = await tenant({ quota: (one * 10) / 1e9 });
    // Every request waits upstream, so all 100 admissions happen while the first holds are still held.
    mock.setCredentialFaults(t.credential, { latencyMs: 300 });
    const replies = await burst(t, 100, body);
    const ok = replies.filter((r) => r.status === 200).length;
    const refused = replies.filter((r) => r.status === 402);
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(ok).toBeLessThanOrEqual(11);
    expect(ok + refused.length).toBe(100);
    for (const r of refused) {
      expect(r.body.error).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_quota' });
    }
    await settled();
    const l = await ledger(t.keyId);
    expect(l.rows).toBe(100);
    expect(l.used).toBe(l.rowsCost);
    // Bounded overdraft: never more than one request past the quota.
    expect(l.used).toBeLessThanOrEqual(one * 11);
    const view = await admin<{ used: string; remaining: string }>('GET', `/keys/${t.keyId}`);
    expect(parseUsd(view.body.used)).toBe(l.used);
  });
});

describe('rate limits across two relays', () => {
  it('when a key allows 60 requests per minute, then 60 ± 2 of 100 are admitted across both relays and the rest get 429 with Retry-After', async () => {
    const t = await tenant({ rpm_limit: 60 });
    mock.setCredentialFaults(t.credential, { latencyMs: 200 });
    const replies = await burst(t, 100, { messages: [{ role: 'user', content: 'rpm probe' }] });
    const ok = replies.filter((r) => r.status === 200);
    const limited = replies.filter((r) => r.status === 429);
    expect(ok.length).toBeGreaterThanOrEqual(58);
    expect(ok.length).toBeLessThanOrEqual(62);
    expect(ok.length + limited.length).toBe(100);
    for (const r of limited) {
      expect(r.body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_requests' });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.headers.get('x-ratelimit-limit-requests')).toBe('60');
      expect(r.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    }
    expect(ok[0]!.headers.get('x-ratelimit-limit-requests')).toBe('60');
    expect(ok[0]!.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d+)?(ms|s)$|m/);
  });

  it('when a key allows a token budget per minute, then token-heavy requests are admitted up to it (± 2 requests) across both relays', async () => {
    const content = 'The quick brown fox jumps over the lazy dog. '.repeat(40);
    const body = { messages: [{ role: 'user', content }], max_tokens: 5 };
    const perRequest =
      (await estimatePromptTokens('openai-chat', { model: MODEL, ...body }, MODEL)).tokens + 5;
    expect(perRequest).toBeGreaterThan(300);
    const t = await tenant({ tpm_limit: perRequest * 20 });
    mock.setCredentialFaults(t.credential, { latencyMs: 200 });
    const replies = await burst(t, 50, body);
    const ok = replies.filter((r) => r.status === 200).length;
    expect(ok).toBeGreaterThanOrEqual(18);
    expect(ok).toBeLessThanOrEqual(22);
    const limited = replies.filter((r) => r.status === 429);
    expect(limited.length).toBe(50 - ok);
    expect(limited[0]!.body.error).toMatchObject({ code: 'rate_limit_tokens' });
    expect(limited[0]!.headers.get('x-ratelimit-limit-tokens')).toBe(String(perRequest * 20));
  });

  it('when a key allows 3 requests in flight, then a burst of 20 on two relays runs at most 3 at once', async () => {
    const t = await tenant({ concurrency_limit: 3 });
    mock.setCredentialFaults(t.credential, { latencyMs: 300 });
    const replies = await burst(t, 20, { messages: [{ role: 'user', content: 'concurrency probe' }] });
    expect(replies.filter((r) => r.status === 200).length).toBe(3);
    expect(replies.filter((r) => r.status === 429)[0]!.body.error).toMatchObject({
      code: 'concurrency_limit',
    });
    await settled();
    // The slots are free again once the requests ended.
    expect((await chat(relays[1], t, { messages: [{ role: 'user', content: 'again' }] })).status).toBe(200);
  });
});

/** Resolves once the control plane's snapshot carries the spend of every usage row written so far. */
async function balancesPublished(): Promise<void> {
  const newest = await db
    .selectFrom('usage_logs')
    .select(sql<string>`coalesce(max(id), 0)`.as('id'))
    .executeTakeFirstOrThrow();
  for (;;) {
    const ready = (await (await fetch(`${cp.url}/readyz`)).json()) as {
      checks: { balances_as_of_usage_row: number | null };
    };
    if ((ready.checks.balances_as_of_usage_row ?? 0) >= Number(newest.id)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  await propagated(cp, relays);
}

describe('a coordination store that lost its balances', () => {
  it('when Redis loses a key’s spend, then the relays restart it from the ledger (a refreshed snapshot), not from zero', async () => {
    const body = { messages: [{ role: 'user', content: 'quota probe' }], max_tokens: 5 };
    const probe = await tenant({});
    expect((await chat(relays[0], probe, body)).status).toBe(200);
    await settled();
    const one = (await ledger(probe.keyId)).rowsCost;

    const t = await tenant({ quota: (one * 3.5) / 1e9 });
    for (const r of relays) expect((await chat(r, t, body)).status).toBe(200);
    await settled();
    expect((await ledger(t.keyId)).used).toBe(one * 2);
    // No admin write: the control plane noticed the ledger grew and republished the spend.
    await balancesPublished();
    const redis = new Redis(REDIS_URL);
    try {
      const lost = await redis.keys(`${suite.redisPrefix}q:k:${t.keyId}:*`);
      expect(lost.length).toBeGreaterThan(0);
      await redis.del(...lost);
    } finally {
      redis.disconnect();
    }
    // Restarted from the ledger's 2 requests, 1.5 requests' worth is left: one more fits, not three.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await chat(relays[i % 2]!, t, body)).status);
    expect(statuses).toEqual([200, 402, 402, 402]);
  });
});

describe('limits while Redis is away', () => {
  it('when a relay loses Redis, then it enforces its share of the limit (limit ÷ live relays) on its own', async () => {
    const t = await tenant({ rpm_limit: 30 });
    const { relay, proxy } = await startRelayBehindRedisProxy(suite, database.url, cp, {
      SWITCHYARD_RELAY_ID: 'tenancy-cut-off',
    });
    try {
      await propagated(cp, [relay]);
      // Its start-up heartbeat is answered before this request's admission: three relays are alive.
      expect((await chat(relay, t, { messages: [{ role: 'user', content: 'before' }] })).status).toBe(200);
      proxy.cut();
      const replies: Reply[] = [];
      for (let i = 0; i < 20; i++) {
        replies.push(await chat(relay, t, { messages: [{ role: 'user', content: `alone ${i}` }] }));
      }
      expect(replies.filter((r) => r.status === 200).length).toBe(10);
      const limited = replies.filter((r) => r.status === 429);
      expect(limited.length).toBe(10);
      expect(limited[0]!.headers.get('x-ratelimit-limit-requests')).toBe('10');
      const ready = (await (await fetch(`${relay.url}/readyz`)).json()) as { checks: { redis: string } };
      expect(ready.checks.redis).toMatch(/^down/);
    } finally {
      await relay.close();
      await proxy.close();
    }
  });
});

describe('the key owner’s dashboard in distributed mode', () => {
  it('when a key owner asks a relay for the dashboard, then it is told the control plane serves it, and the control plane does', async () => {
    const t = await tenant({ quota: '1' });
    const headers = { authorization: `Bearer ${t.key}` };
    const atRelay = await fetch(`${relays[0].url}/v1/dashboard/balance`, { headers });
    expect(atRelay.status).toBe(404);
    expect(await atRelay.json()).toMatchObject({ error: { code: 'served_by_control_plane' } });
    const atCp = await fetch(`${cp.url}/v1/dashboard/balance`, { headers });
    expect(atCp.status).toBe(200);
    expect(await atCp.json()).toMatchObject({ key: { id: t.keyId, quota: '1', used: '0' } });
  });
});

describe('revocation', () => {
  it('when a key is disabled, then every relay refuses it within a second', async () => {
    const t = await tenant({});
    const body = { messages: [{ role: 'user', content: 'revoke me' }] };
    for (const r of relays) expect((await chat(r, t, body)).status).toBe(200);
    const t0 = Date.now();
    expect((await admin('PATCH', `/keys/${t.keyId}`, { enabled: false })).status).toBe(200);
    const refusedAt: number[] = [];
    for (const r of relays) {
      for (;;) {
        const reply = await chat(r, t, body);
        if (reply.status === 401) {
          expect(reply.body.error).toMatchObject({ code: 'api_key_disabled' });
          refusedAt.push(Date.now() - t0);
          break;
        }
        expect(Date.now() - t0).toBeLessThan(1_000);
      }
    }
    expect(Math.max(...refusedAt)).toBeLessThan(1_000);
  });
});
