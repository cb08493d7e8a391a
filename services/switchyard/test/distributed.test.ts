import OpenAI from 'openai';
import { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlDialect } from '@switchyard/adapters';
import type { DB } from '@switchyard/core';
import { expectedCompletion, startMockUpstream, type MockUpstream } from '@switchyard/mock-upstream';
import { startTcpProxy } from '../../adapters/test/tcp-proxy.js';
import {
  adminCall,
  distributedSuite,
  startDistributedStack,
  type DistributedStack,
  NATS_URL,
  propagated,
  quietLogger,
  startRelayBehindRedisProxy,
} from './distributed-harness.js';
import {
  loadConfig,
  startAccountingRole,
  startControlPlaneRole,
  startRelayRole,
  type RoleHandle,
} from '../src/index.js';

/**
 * Distributed mode on the machine's MariaDB, Redis and NATS: one control plane, two relays and one
 * accounting process (in this test process, sharing nothing but those services and gRPC).
 */
const suite = distributedSuite('distributed', 'cd');
const messages = [{ role: 'user' as const, content: 'Hello distributed' }];
const logger = quietLogger;
let stack: DistributedStack;
let database: DistributedStack['database'];
let mock: MockUpstream;
let cp: RoleHandle;
let relays: RoleHandle[];
let accounting: RoleHandle;
let db: Kysely<DB>;

const env = (extra: Record<string, string>) => suite.env(database.url, extra);

async function admin<T>(method: string, route: string, body?: unknown): Promise<T> {
  const res = await adminCall<T>(cp, suite.adminToken, method, route, body);
  expect(res.status).toBeLessThan(300);
  return res.body;
}

async function rowCount(keyId: number): Promise<number> {
  const r = await db
    .selectFrom('usage_logs')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('key_id', '=', keyId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

beforeAll(async () => {
  stack = await startDistributedStack(suite, { relayIds: [undefined, undefined] });
  ({ database, cp, relays } = stack);
  mock = await startMockUpstream({ name: 'distributed' });
  accounting = await startAccountingRole(loadConfig(env({})), logger);
  db = new Kysely<DB>({ dialect: createMysqlDialect(database.url) });
});

afterAll(async () => {
  await accounting?.close();
  await db?.destroy();
  await mock?.close();
  await stack?.close();
});

describe('distributed mode', () => {
  let key: { id: number; key: string };

  it('when a channel and a key are created on the control plane, then both relays serve them within a second', async () => {
    await admin('POST', '/channels', {
      name: 'pool',
      provider: 'openai',
      base_url: `${mock.url}/v1`,
      models: ['gpt-4o'],
      accounts: ['a', 'b', 'c', 'd'].map((n) => ({ name: n, api_key: `sk-acct-${n}` })),
    });
    key = await admin('POST', '/keys', { name: 'distributed' });
    expect(await propagated(cp, relays)).toBeLessThan(1_000);
    for (const r of relays) {
      const client = new OpenAI({ apiKey: key.key, baseURL: `${r.url}/v1`, maxRetries: 0 });
      const res = await client.chat.completions.create({ model: 'gpt-4o', messages });
      expect(res.choices[0]?.message.content).toBe(expectedCompletion({ model: 'gpt-4o', messages }).content);
    }
  });

  it('when 400 requests alternate between the relays, then the shared round-robin gives each of 4 accounts 100, and the ledger has every row once with exact tokens', async () => {
    mock.reset();
    const clients = relays.map((r) => new OpenAI({ apiKey: key.key, baseURL: `${r.url}/v1`, maxRetries: 0 }));
    for (let i = 0; i < 400; i++)
      await clients[i % 2]!.chat.completions.create({ model: 'gpt-4o', messages });
    const perAccount = new Map<string, number>();
    for (const r of mock.requests) {
      const a = String(r.headers.authorization);
      perAccount.set(a, (perAccount.get(a) ?? 0) + 1);
    }
    expect([...perAccount.values()].sort()).toEqual([100, 100, 100, 100]);

    // Every relay has published its usage; the accounting consumer has written it.
    for (const r of relays) await r.idle!();
    await accounting.idle!();
    const exp = expectedCompletion({ model: 'gpt-4o', messages });
    const sums = await db
      .selectFrom('usage_logs')
      .select((eb) => [
        eb.fn.countAll().as('n'),
        eb.fn.sum('prompt_tokens').as('p'),
        eb.fn.sum('completion_tokens').as('c'),
      ])
      .where('key_id', '=', key.id)
      .executeTakeFirstOrThrow();
    expect(Number(sums.n)).toBe(402);
    expect(Number(sums.p)).toBe(402 * exp.promptTokens);
    expect(Number(sums.c)).toBe(402 * exp.completionTokens);
  });

  it('when 1,000 concurrent requests are spread over both relays, then the ledger holds exactly 1,000 rows with exact token sums', async () => {
    const k = await admin<{ id: number; key: string }>('POST', '/keys', { name: 'thousand' });
    await propagated(cp, relays);
    const clients = relays.map((r) => new OpenAI({ apiKey: k.key, baseURL: `${r.url}/v1`, maxRetries: 0 }));
    // 32 at a time: enough concurrency to interleave both relays' batches in JetStream and accounting.
    for (let i = 0; i < 1000; i += 32) {
      await Promise.all(
        Array.from({ length: Math.min(32, 1000 - i) }, (_, j) =>
          clients[(i + j) % 2]!.chat.completions.create({ model: 'gpt-4o', messages }),
        ),
      );
    }
    for (const r of relays) await r.idle!();
    await accounting.idle!();
    const exp = expectedCompletion({ model: 'gpt-4o', messages });
    const sums = await db
      .selectFrom('usage_logs')
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum('total_tokens').as('t')])
      .where('key_id', '=', k.id)
      .executeTakeFirstOrThrow();
    expect(Number(sums.n)).toBe(1000);
    expect(Number(sums.t)).toBe(1000 * (exp.promptTokens + exp.completionTokens));
    const daily = await db
      .selectFrom('usage_daily')
      .select((eb) => eb.fn.sum('requests').as('n'))
      .where('key_id', '=', k.id)
      .executeTakeFirstOrThrow();
    expect(Number(daily.n)).toBe(1000);
  });

  it('when accounting is down while 500 requests run, then every usage row arrives once it is back, none twice', async () => {
    const before = await rowCount(key.id);
    await accounting.close();
    const clients = relays.map((r) => new OpenAI({ apiKey: key.key, baseURL: `${r.url}/v1`, maxRetries: 0 }));
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        clients[i % 2]!.chat.completions.create({ model: 'gpt-4o', messages }),
      ),
    );
    for (const r of relays) await r.idle!();
    expect(await rowCount(key.id)).toBe(before);
    accounting = await startAccountingRole(loadConfig(env({})), logger);
    await accounting.idle!();
    expect(await rowCount(key.id)).toBe(before + 500);
  });

  it('when the control plane stops, then relays keep serving; when it is back, its changes reach them again', async () => {
    const grpcPort = cp.grpcPort!;
    await cp.close();
    for (const r of relays) {
      const client = new OpenAI({ apiKey: key.key, baseURL: `${r.url}/v1`, maxRetries: 0 });
      await expect(client.chat.completions.create({ model: 'gpt-4o', messages })).resolves.toBeTruthy();
    }
    cp = await startControlPlaneRole(loadConfig(env({ SWITCHYARD_GRPC_PORT: String(grpcPort) })), logger);
    const fresh = await admin<{ key: string }>('POST', '/keys', { name: 'after-restart' });
    // The relays reconnect with back-off; the new key must work on both within a few seconds.
    const deadline = Date.now() + 10_000;
    for (const r of relays) {
      const client = new OpenAI({ apiKey: fresh.key, baseURL: `${r.url}/v1`, maxRetries: 0 });
      for (;;) {
        const ok = await client.chat.completions.create({ model: 'gpt-4o', messages }).then(
          () => true,
          (e: unknown) => {
            if (!(e instanceof OpenAI.AuthenticationError)) throw e;
            return false;
          },
        );
        if (ok) break;
        if (Date.now() > deadline)
          throw new Error(`relay ${r.url} never saw the key created after the restart`);
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  });

  it('when Redis is cut off from a relay, then it keeps serving on per-process state, says so, and rejoins when Redis is back', async () => {
    const { relay, proxy } = await startRelayBehindRedisProxy(suite, database.url, cp);
    const readyz = async () =>
      (await (await fetch(`${relay.url}/readyz`)).json()) as { status: string; checks: { redis: string } };
    try {
      const client = new OpenAI({ apiKey: key.key, baseURL: `${relay.url}/v1`, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt-4o', messages });
      expect((await readyz()).checks.redis).toBe('up');
      proxy.cut();
      await expect(client.chat.completions.create({ model: 'gpt-4o', messages })).resolves.toBeTruthy();
      const down = await readyz();
      expect(down.status).toBe('ready');
      expect(down.checks.redis).toMatch(/^down/);
      expect(await (await fetch(`${relay.url}/metrics`)).text()).toContain(
        'switchyard_coordination_degraded 1',
      );
      proxy.restore();
      // The background probe rejoins Redis (it pings every second); wait for /readyz to say so.
      const deadline = Date.now() + 10_000;
      while ((await readyz()).checks.redis !== 'up') {
        if (Date.now() > deadline) throw new Error('the relay never rejoined Redis');
        await new Promise((r) => setTimeout(r, 100));
      }
      await expect(client.chat.completions.create({ model: 'gpt-4o', messages })).resolves.toBeTruthy();
    } finally {
      await relay.close();
      await proxy.close();
    }
  });

  it('when NATS is cut off from a relay during traffic, then it keeps answering, queues the usage, and delivers all of it once NATS is back, none twice', async () => {
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(NATS_URL).port || 4222));
    const relay = await startRelayRole(
      loadConfig(
        env({
          SWITCHYARD_CONTROL_PLANE_URL: `127.0.0.1:${cp.grpcPort}`,
          SWITCHYARD_NATS_URL: `nats://127.0.0.1:${proxy.port}`,
        }),
      ),
      logger,
    );
    const k = await admin<{ id: number; key: string }>('POST', '/keys', { name: 'nats-outage' });
    const readyz = async () =>
      (await (await fetch(`${relay.url}/readyz`)).json()) as { checks: { usage_bus: { pending: number } } };
    try {
      const client = new OpenAI({ apiKey: k.key, baseURL: `${relay.url}/v1`, maxRetries: 0 });
      const deadline = Date.now() + 5_000;
      // The new key reaches this relay through its watch stream.
      while (
        !(await client.models.list().then(
          () => true,
          () => false,
        ))
      ) {
        if (Date.now() > deadline) throw new Error('key never reached the relay');
        await new Promise((r) => setTimeout(r, 20));
      }
      proxy.cut();
      for (let i = 0; i < 50; i++) await client.chat.completions.create({ model: 'gpt-4o', messages });
      expect((await readyz()).checks.usage_bus.pending).toBe(50);
      expect(await rowCount(k.id)).toBe(0);
      const metrics = async () => (await fetch(`${relay.url}/metrics`)).text();
      expect(await metrics()).toContain('switchyard_usage_bus_up 0');
      proxy.restore();
      await relay.idle!();
      await accounting.idle!();
      expect(await rowCount(k.id)).toBe(50);
      expect((await readyz()).checks.usage_bus.pending).toBe(0);
      expect(await metrics()).toContain('switchyard_usage_bus_up 1');
    } finally {
      await relay.close();
      await proxy.close();
    }
  });

  it('when the key is disabled on the control plane, then both relays refuse it within a second', async () => {
    await admin('PATCH', `/keys/${key.id}`, { enabled: false });
    expect(await propagated(cp, relays)).toBeLessThan(1_000);
    for (const r of relays) {
      const client = new OpenAI({ apiKey: key.key, baseURL: `${r.url}/v1`, maxRetries: 0 });
      await expect(client.chat.completions.create({ model: 'gpt-4o', messages })).rejects.toBeInstanceOf(
        OpenAI.AuthenticationError,
      );
    }
  });

  it('when a Vertex channel with provider options is created, then both relays serve an Anthropic client through it', async () => {
    await admin('POST', '/channels', {
      name: 'vertex',
      provider: 'vertex',
      base_url: mock.url,
      options: { project_id: 'mock-project', location: 'europe-west4', token_url: `${mock.url}/token` },
      models: ['claude-on-vertex'],
      model_mapping: { 'claude-on-vertex': 'claude-sonnet-4-5@20250929' },
      accounts: [{ api_key: JSON.stringify(mock.googleServiceAccount()) }],
    });
    const k = await admin<{ key: string }>('POST', '/keys', { name: 'vertex-client' });
    expect(await propagated(cp, relays)).toBeLessThan(1_000);
    for (const r of relays) {
      const res = await fetch(`${r.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'x-api-key': k.key,
          'content-type': 'application/json',
          'anthropic-version': '2023-06-01',
        },
        body: JSON.stringify({
          model: 'claude-on-vertex',
          max_tokens: 64,
          messages: [{ role: 'user', content: 'Hello vertex' }],
        }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        type: 'message',
        content: [{ type: 'text', text: 'Echo: Hello vertex' }],
      });
      // The options travelled over gRPC: the location is in the path the relay called.
      expect(mock.requests.at(-1)!.path).toBe(
        '/v1/projects/mock-project/locations/europe-west4/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict',
      );
    }
  });
});
