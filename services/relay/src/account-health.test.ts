import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  API_KEY_ACCOUNT,
  defaultChannelRouting,
  type AccountFailureReport,
  type Channel,
  type CoordinationStore,
} from '@switchyard/core';
import { AccountHealth, BREAKER_OPEN, accountKey, type Verdict } from './account-health.js';
import { RelayMetrics } from './relay-metrics.js';
import type { Candidate } from './routing-table.js';

/** A coordination store in memory that records what was asked of it. */
function store() {
  const cooldowns = new Map<string, number>();
  const reports = new Map<string, Record<string, string>>();
  const s: CoordinationStore & { set: Array<[string, number]>; reads: number } = {
    set: [],
    reads: 0,
    nextCounter: async () => 0,
    coolDown: async (key, ms) => {
      s.set.push([key, ms]);
      cooldowns.set(key, Math.max(cooldowns.get(key) ?? 0, Date.now() + ms));
    },
    cooldowns: async (keys) => {
      s.reads++;
      return keys.map((k) => ((cooldowns.get(k) ?? 0) > Date.now() ? cooldowns.get(k)! : 0));
    },
    clearCooldown: async (key) => void cooldowns.delete(key),
    reportHealth: async (key, member, value) =>
      void reports.set(key, { ...reports.get(key), [member]: value }),
    healthReports: async (keys) => keys.map((k) => reports.get(k) ?? {}),
    admit: () => Promise.reject(new Error('account health never admits')),
    release: () => Promise.reject(new Error('account health never releases')),
    heartbeat: async () => 1,
  };
  return s;
}

function candidate(
  accountId: number,
  over: Partial<Channel> = {},
  kind: 'api_key' | 'oauth' = 'api_key',
): Candidate {
  const channel: Channel = {
    id: 1,
    name: 'c',
    provider: 'openai',
    baseUrl: 'http://127.0.0.1:1/v1',
    options: {},
    models: ['m'],
    modelMapping: {},
    priority: 0,
    weight: 1,
    groups: ['default'],
    ...defaultChannelRouting(),
    enabled: true,
    accounts: [],
    ...over,
  };
  const account = {
    id: accountId,
    channelId: 1,
    name: 'a',
    enabled: true,
    apiKey: 'k',
    ...API_KEY_ACCOUNT,
    kind,
  };
  channel.accounts = [account];
  return { channel, account, upstreamModel: 'm' };
}

function health(coordination = store(), reports: AccountFailureReport[] = []) {
  return new AccountHealth({
    coordination,
    reporter: {
      reportAuthFailure: async (r) => {
        reports.push(r);
        return 'disabled';
      },
    },
    relayId: 'relay-test',
    metrics: new RelayMetrics(new Registry()),
    logger: pino({ level: 'silent' }),
  });
}

const fail = (
  failure: Extract<Verdict, { kind: 'failure' }>['failure'],
  waitMs: number | null = null,
  status: number | null = 500,
): Verdict => ({
  kind: 'failure',
  failure,
  waitMs,
  upstreamStatus: status,
  message: `HTTP ${status}`,
});

describe('AccountHealth', () => {
  it('when an account keeps failing, then its breaker opens, half-opens after the reset timeout for one probe, and closes on success', async () => {
    const h = health();
    const c = candidate(7, {
      breaker: { errorThresholdPercent: 50, volumeThreshold: 3, resetTimeoutMs: 200, windowMs: 10_000 },
    });
    for (let i = 0; i < 3; i++)
      await h.run(
        c,
        async () => 'x',
        () => fail('server_error'),
      );
    expect(h.breakerState(7)).toBe('open');
    expect((await h.usable([c])).usable).toHaveLength(0);
    expect(
      await h.run(
        c,
        async () => 'never',
        () => ({ kind: 'success' }),
      ),
    ).toBe(BREAKER_OPEN);
    // opossum's reset timer is the event: it switches the breaker to half-open.
    await new Promise((r) => setTimeout(r, 250));
    expect(h.breakerState(7)).toBe('half_open');
    let release!: () => void;
    const probe = h.run(
      c,
      () => new Promise<string>((r) => (release = () => r('probe'))),
      () => ({ kind: 'success' }),
    );
    // While the probe is in flight, nothing else gets through.
    expect(
      await h.run(
        c,
        async () => 'second',
        () => ({ kind: 'success' }),
      ),
    ).toBe(BREAKER_OPEN);
    release();
    expect(await probe).toBe('probe');
    expect(h.breakerState(7)).toBe('closed');
    h.close();
  });

  it('when a 429 names a wait, then the account cools down for it; without one, the back-off doubles', async () => {
    const s = store();
    const h = health(s);
    const c = candidate(8);
    await h.run(
      c,
      async () => 'x',
      () => fail('rate_limited', 2000, 429),
    );
    await h.run(
      c,
      async () => 'x',
      () => fail('rate_limited', null, 429),
    );
    await h.run(
      c,
      async () => 'x',
      () => fail('rate_limited', null, 429),
    );
    expect(s.set).toEqual([
      [accountKey(8), 2000],
      [accountKey(8), 2000],
      [accountKey(8), 4000],
    ]);
    const { usable, retryAt } = await h.usable([c]);
    expect(usable).toHaveLength(0);
    expect(retryAt).toBeGreaterThan(Date.now() + 3000);
    h.close();
  });

  it('when a 5xx is a single blip, then there is no cooldown; the second in a row starts the back-off; a success resets it', async () => {
    const s = store();
    const h = health(s);
    const c = candidate(9, {
      breaker: { errorThresholdPercent: 100, volumeThreshold: 1000, resetTimeoutMs: 1000, windowMs: 10_000 },
    });
    await h.run(
      c,
      async () => 'x',
      () => fail('server_error'),
    );
    expect(s.set).toEqual([]);
    await h.run(
      c,
      async () => 'x',
      () => fail('server_error'),
    );
    expect(s.set).toEqual([[accountKey(9), 1000]]);
    await s.clearCooldown(accountKey(9));
    await h.run(
      c,
      async () => 'ok',
      () => ({ kind: 'success' }),
    );
    await h.run(
      c,
      async () => 'x',
      () => fail('server_error'),
    );
    expect(s.set).toHaveLength(1);
    h.close();
  });

  it('when an API-key account is rejected with 401, then it is reported and blocked here at once; an OAuth account is only cooled down', async () => {
    const reports: AccountFailureReport[] = [];
    const h = health(store(), reports);
    const apiKey = candidate(10);
    await h.run(
      apiKey,
      async () => 'x',
      () => fail('auth', null, 401),
    );
    expect(reports).toEqual([{ accountId: 10, channelId: 1, upstreamStatus: 401, reason: 'HTTP 401' }]);
    expect((await h.usable([apiKey])).usable).toHaveLength(0);
    const oauth = candidate(11, {}, 'oauth');
    await h.run(
      oauth,
      async () => 'x',
      () => fail('auth', null, 401),
    );
    expect(reports).toHaveLength(1);
    h.close();
  });

  it('when a neutral outcome or a thrown request error happens, then nothing counts against the account', async () => {
    const s = store();
    const h = health(s);
    const c = candidate(12, {
      breaker: { errorThresholdPercent: 10, volumeThreshold: 1, resetTimeoutMs: 1000, windowMs: 10_000 },
    });
    for (let i = 0; i < 5; i++)
      await h.run(
        c,
        async () => 'x',
        () => ({ kind: 'neutral' }),
      );
    await expect(
      h.run(
        c,
        async () => Promise.reject(new Error('bad request')),
        () => ({ kind: 'success' }),
      ),
    ).rejects.toThrow('bad request');
    expect(h.breakerState(12)).toBe('closed');
    expect(s.set).toEqual([]);
    h.close();
  });

  it('when health is flushed, then the report carries the breaker state, counts and last error', async () => {
    const s = store();
    const h = health(s);
    const c = candidate(13);
    await h.run(
      c,
      async () => 'x',
      () => ({ kind: 'success' }),
    );
    await h.run(
      c,
      async () => 'x',
      () => fail('timeout', null, null),
    );
    await h.flush();
    const [reports] = await s.healthReports([accountKey(13)]);
    const report = JSON.parse(reports!['relay-test']!) as Record<string, unknown>;
    expect(report).toMatchObject({
      state: 'closed',
      requests: 2,
      failures: 1,
      errorRate: 0.5,
      lastStatus: null,
    });
    expect(report.lastError).toBe('HTTP null');
    h.close();
  });

  it('when an admin re-enables an account, then its breaker starts closed again', async () => {
    const h = health();
    const c = candidate(14, {
      breaker: { errorThresholdPercent: 50, volumeThreshold: 1, resetTimeoutMs: 60_000, windowMs: 10_000 },
    });
    await h.run(
      c,
      async () => 'x',
      () => fail('server_error'),
    );
    expect(h.breakerState(14)).toBe('open');
    const snap = (enabled: boolean) => ({
      version: 1,
      keys: [],
      modelAliases: {},
      users: [],
      groups: [],
      prices: [],
      channels: [{ ...c.channel, accounts: [{ ...c.account, enabled }] }],
    });
    h.update(snap(false));
    h.update(snap(true));
    expect(h.breakerState(14)).toBe('closed');
    h.close();
  });

  it('when cooldowns are read under load, then one store read serves a quarter second, and a new snapshot or an own cooldown is seen at once', async () => {
    const s = store();
    const h = health(s);
    const c = candidate(15);
    for (let i = 0; i < 20; i++) expect((await h.usable([c])).usable).toHaveLength(1);
    expect(s.reads).toBe(1);
    // Another relay cools the account down in the shared store: unseen until the read expires...
    await s.coolDown(accountKey(15), 60_000);
    expect((await h.usable([c])).usable).toHaveLength(1);
    // ...or until a snapshot arrives, which drops what was read.
    h.update({
      version: 2,
      keys: [],
      modelAliases: {},
      users: [],
      groups: [],
      prices: [],
      channels: [c.channel],
    });
    expect((await h.usable([c])).usable).toHaveLength(0);
    // A cooldown this relay sets is seen without a read.
    const other = candidate(16);
    expect((await h.usable([other])).usable).toHaveLength(1);
    const reads = s.reads;
    await h.run(
      other,
      async () => 'x',
      () => fail('rate_limited', 5000, 429),
    );
    expect((await h.usable([other])).usable).toHaveLength(0);
    expect(s.reads).toBe(reads);
    h.close();
  });
});
