import { afterEach, describe, expect, it } from 'vitest';
import type { CoordinationStore } from '@switchyard/core';
import { type AdminHarness, channelBody, dataOf, obj, startAdminHarness } from './admin-harness.js';

/** The harness clock (admin-harness.ts): cooldowns and report times below are relative to it. */
const NOW = Date.parse('2026-01-02T03:04:05.000Z');

/**
 * A CoordinationStore whose cooldowns and health reports the test sets directly (the relays' clock is
 * not the harness clock), counting the batched reads the admin API makes.
 */
class FakeCoordinationStore implements CoordinationStore {
  readonly cooldownUntil = new Map<string, number>();
  readonly reports = new Map<string, Record<string, string>>();
  readonly calls = { cooldowns: 0, healthReports: 0, cleared: [] as string[] };

  async nextCounter(): Promise<number> {
    return 0;
  }
  async coolDown(key: string, ms: number): Promise<void> {
    this.cooldownUntil.set(key, NOW + ms);
  }
  async cooldowns(keys: readonly string[]): Promise<number[]> {
    this.calls.cooldowns += 1;
    return keys.map((k) => this.cooldownUntil.get(k) ?? 0);
  }
  async clearCooldown(key: string): Promise<void> {
    this.calls.cleared.push(key);
    this.cooldownUntil.delete(key);
  }
  async reportHealth(key: string, member: string, value: string): Promise<void> {
    this.reports.set(key, { ...this.reports.get(key), [member]: value });
  }
  async healthReports(keys: readonly string[]): Promise<Array<Record<string, string>>> {
    this.calls.healthReports += 1;
    return keys.map((k) => ({ ...this.reports.get(k) }));
  }
  // Admission is the relay's business; the health views never ask for it.
  admit(): Promise<never> {
    throw new Error('not used by health views');
  }
  release(): Promise<never> {
    throw new Error('not used by health views');
  }
  async heartbeat(): Promise<number> {
    return 1;
  }
}

function report(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    state: 'closed',
    requests: 20,
    failures: 1,
    errorRate: 0.05,
    lastError: null,
    lastErrorAt: null,
    lastStatus: null,
    updatedAt: NOW - 1000,
    ...fields,
  });
}

function healthOf(body: unknown): Record<string, unknown> {
  return obj(obj(body).health);
}

describe('account health in the admin API', () => {
  let h: AdminHarness;
  let channelId: number;
  afterEach(async () => {
    await h.close();
  });

  /** Starts the harness with one channel of three accounts; resolves the account ids. */
  async function start(coordination?: CoordinationStore): Promise<number[]> {
    h = await startAdminHarness(coordination === undefined ? {} : { coordination });
    const channel = await h.call('POST', '/channels', {
      json: channelBody({
        accounts: [{ api_key: 'sk-one' }, { api_key: 'sk-two' }, { api_key: 'sk-three' }],
      }),
    });
    channelId = obj(channel.body).id as number;
    return (obj(channel.body).accounts as { id: number }[]).map((a) => a.id);
  }

  it('when the control plane has no coordination store, then every account is healthy with no breaker reports or cooldown', async () => {
    const [id] = await start();
    const res = await h.call('GET', `/accounts/${String(id)}`);
    expect(healthOf(res.body)).toEqual({
      status: 'healthy',
      cooldown_until: null,
      breaker: [],
      last_error: null,
      last_error_at: null,
      last_status: null,
      disabled_reason: null,
    });
  });

  it('when relays report, then each relay appears (by id) and the most recent error across them is shown', async () => {
    const store = new FakeCoordinationStore();
    const [id] = await start(store);
    const key = `acct:${String(id)}`;
    await store.reportHealth(
      key,
      'relay-b',
      report({ lastError: 'older 500', lastErrorAt: NOW - 50_000, lastStatus: 500, updatedAt: NOW - 2000 }),
    );
    await store.reportHealth(
      key,
      'relay-a',
      report({
        failures: 4,
        errorRate: 0.2,
        lastError: 'upstream 429',
        lastErrorAt: NOW - 5000,
        lastStatus: 429,
      }),
    );
    const health = healthOf((await h.call('GET', `/accounts/${String(id)}`)).body);
    expect(health).toEqual({
      status: 'healthy',
      cooldown_until: null,
      breaker: [
        {
          relay: 'relay-a',
          state: 'closed',
          requests: 20,
          failures: 4,
          error_rate: 0.2,
          updated_at: '2026-01-02T03:04:04.000Z',
        },
        {
          relay: 'relay-b',
          state: 'closed',
          requests: 20,
          failures: 1,
          error_rate: 0.05,
          updated_at: '2026-01-02T03:04:03.000Z',
        },
      ],
      last_error: 'upstream 429',
      last_error_at: '2026-01-02T03:04:00.000Z',
      last_status: 429,
      disabled_reason: null,
    });
  });

  it('when a cooldown runs into the future, then cooling_down with its end; an expired one reads healthy', async () => {
    const store = new FakeCoordinationStore();
    const [cooling, expired] = await start(store);
    store.cooldownUntil.set(`acct:${String(cooling)}`, NOW + 30_000);
    store.cooldownUntil.set(`acct:${String(expired)}`, NOW - 1);
    expect(healthOf((await h.call('GET', `/accounts/${String(cooling)}`)).body)).toMatchObject({
      status: 'cooling_down',
      cooldown_until: '2026-01-02T03:04:35.000Z',
    });
    expect(healthOf((await h.call('GET', `/accounts/${String(expired)}`)).body)).toMatchObject({
      status: 'healthy',
      cooldown_until: null,
    });
  });

  it('when any relay reports the breaker open, then circuit_open even while cooling down; a disabled account reads disabled', async () => {
    const store = new FakeCoordinationStore();
    const [open, disabled] = await start(store);
    for (const id of [open, disabled]) {
      const key = `acct:${String(id)}`;
      store.cooldownUntil.set(key, NOW + 30_000);
      await store.reportHealth(key, 'relay-a', report());
      await store.reportHealth(key, 'relay-b', report({ state: 'open', failures: 15, errorRate: 0.75 }));
    }
    await h.call('POST', `/accounts/${String(disabled)}/disable`, { json: { reason: 'rotating keys' } });
    expect(healthOf((await h.call('GET', `/accounts/${String(open)}`)).body).status).toBe('circuit_open');
    expect(healthOf((await h.call('GET', `/accounts/${String(disabled)}`)).body)).toMatchObject({
      status: 'disabled',
      disabled_reason: 'rotating keys',
    });
  });

  it('when a report is malformed, then it is skipped and logged while the other relays still show', async () => {
    const store = new FakeCoordinationStore();
    const [id] = await start(store);
    const key = `acct:${String(id)}`;
    await store.reportHealth(key, 'relay-a', 'not json');
    await store.reportHealth(key, 'relay-b', report({ state: 'melted' }));
    await store.reportHealth(key, 'relay-c', report({ errorRate: 2 }));
    await store.reportHealth(key, 'relay-d', report());
    const health = healthOf((await h.call('GET', `/accounts/${String(id)}`)).body);
    expect((health.breaker as { relay: string }[]).map((b) => b.relay)).toEqual(['relay-d']);
    const warnings = h.logs.filter((l) => l.msg === 'malformed account health report ignored');
    expect(warnings.map((w) => w.relay)).toEqual(['relay-a', 'relay-b', 'relay-c']);
  });

  it('GET /channels/:id/health lists every account with its health, reading the store once per kind', async () => {
    const store = new FakeCoordinationStore();
    const ids = await start(store);
    store.cooldownUntil.set(`acct:${String(ids[1])}`, NOW + 1000);
    await store.reportHealth(`acct:${String(ids[2])}`, 'relay-a', report({ state: 'open' }));
    const before = { ...store.calls };
    const res = await h.call('GET', `/channels/${channelId}/health`);
    expect(res.status).toBe(200);
    expect(store.calls.cooldowns - before.cooldowns).toBe(1);
    expect(store.calls.healthReports - before.healthReports).toBe(1);
    const body = obj(res.body);
    expect(body.channel_id).toBe(channelId);
    const accounts = (body.accounts as unknown[]).map(obj);
    expect(accounts.map((a) => [a.id, a.name, obj(a.health).status])).toEqual([
      [ids[0], 'account-1', 'healthy'],
      [ids[1], 'account-2', 'cooling_down'],
      [ids[2], 'account-3', 'circuit_open'],
    ]);
  });

  it('GET /channels/:id/accounts shows the same health as GET /accounts/:id, in one read per kind', async () => {
    const store = new FakeCoordinationStore();
    const ids = await start(store);
    await store.reportHealth(
      `acct:${String(ids[0])}`,
      'relay-a',
      report({ lastError: 'boom', lastErrorAt: NOW - 10, lastStatus: 502 }),
    );
    const before = { ...store.calls };
    const list = dataOf((await h.call('GET', `/channels/${channelId}/accounts`)).body);
    expect(store.calls.cooldowns - before.cooldowns).toBe(1);
    expect(store.calls.healthReports - before.healthReports).toBe(1);
    expect(list[0]).toEqual((await h.call('GET', `/accounts/${String(ids[0])}`)).body);
    expect(obj(list[0]?.health)).toMatchObject({ last_error: 'boom', last_status: 502 });
  });
});
