import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AdmissionDecision, AdmissionRelease, AdmissionRequest, LimitScope } from '@switchyard/core';
import {
  MemoryCoordinationStore,
  RedisCoordinationStore,
  ResilientCoordinationStore,
  type CoordinationStoreStatus,
} from '@switchyard/adapters';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

const REDIS_URL = new URL(process.env.SWITCHYARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
// Why 100 ms: the probe must notice a returning Redis quickly enough for a fast test.
const PROBE_INTERVAL_MS = 100;

/** The Redis URL with its host and port replaced by the proxy's, keeping credentials and database. */
function viaProxy(proxy: TcpProxy): string {
  const url = new URL(REDIS_URL);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  return url.toString();
}

async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

describe('ResilientCoordinationStore over Redis through a TCP proxy', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A resilient store whose Redis connection runs through a proxy the test controls. */
  async function setUp() {
    const prefix = `switchyard-test:${randomUUID()}:`;
    const direct = new Redis(REDIS_URL.toString());
    cleanups.push(async () => {
      await deleteByPrefix(direct, prefix);
      await direct.quit();
    });
    const proxy = await startTcpProxy(REDIS_URL.hostname, Number(REDIS_URL.port || 6379));
    cleanups.push(() => proxy.close());
    // Why 200 ms: a cut connection must fail a call fast; local Redis answers in well under that.
    const redis = new RedisCoordinationStore({
      url: viaProxy(proxy),
      keyPrefix: prefix,
      commandTimeoutMs: 200,
      connectTimeoutMs: 200,
    });
    cleanups.push(() => redis.close());
    await redis.ready();

    const states: CoordinationStoreStatus[] = [];
    const waiters: Array<{ backend: CoordinationStoreStatus['backend']; resolve: () => void }> = [];
    const primaryCalls = { count: 0 };
    // Counts the calls that reach Redis, so the test can tell the fallback answered without asking it.
    const counted = {
      ping: () => redis.ping(),
      nextCounter: (key: string) => (primaryCalls.count++, redis.nextCounter(key)),
      coolDown: (key: string, ms: number) => (primaryCalls.count++, redis.coolDown(key, ms)),
      cooldowns: (keys: readonly string[]) => (primaryCalls.count++, redis.cooldowns(keys)),
      clearCooldown: (key: string) => (primaryCalls.count++, redis.clearCooldown(key)),
      reportHealth: (key: string, member: string, value: string, ttlMs: number) => (
        primaryCalls.count++,
        redis.reportHealth(key, member, value, ttlMs)
      ),
      healthReports: (keys: readonly string[]) => (primaryCalls.count++, redis.healthReports(keys)),
      admit: (request: AdmissionRequest) => (primaryCalls.count++, redis.admit(request)),
      admitWithSpend: (request: AdmissionRequest) => (primaryCalls.count++, redis.admitWithSpend(request)),
      release: (release: AdmissionRelease) => (primaryCalls.count++, redis.release(release)),
      heartbeat: (member: string, ttlMs: number) => (primaryCalls.count++, redis.heartbeat(member, ttlMs)),
    };
    const store = new ResilientCoordinationStore(counted, new MemoryCoordinationStore(), {
      probeIntervalMs: PROBE_INTERVAL_MS,
      onStateChange: (status) => {
        states.push(status);
        for (const w of waiters.splice(0)) {
          if (w.backend === status.backend) w.resolve();
          else waiters.push(w);
        }
      },
    });
    cleanups.push(async () => store.close());
    const nextState = (backend: CoordinationStoreStatus['backend']) =>
      new Promise<void>((resolve) => waiters.push({ backend, resolve }));
    return { prefix, direct, proxy, store, states, nextState, primaryCalls };
  }

  it('when Redis is reachable, then counters and cooldowns live in Redis', async () => {
    const { prefix, direct, store } = await setUp();
    expect(await store.nextCounter('group:model')).toBe(0);
    expect(await store.nextCounter('group:model')).toBe(1);
    expect(await direct.get(`${prefix}rr:group:model`)).toBe('2');
    await store.coolDown('channel:1:account:2', 10_000);
    expect(Number(await direct.get(`${prefix}cd:channel:1:account:2`))).toBeGreaterThan(Date.now());
    expect(await direct.pttl(`${prefix}cd:channel:1:account:2`)).toBeGreaterThan(9_000);
    expect(store.status()).toEqual({ backend: 'primary', degradedSince: null, lastError: null });
  });

  it('when the connection to Redis is cut, then calls are answered locally and the status says fallback', async () => {
    const { proxy, store, states, primaryCalls } = await setUp();
    expect(await store.nextCounter('rr')).toBe(0);
    await store.coolDown('account:a', 60_000);

    const before = Date.now();
    proxy.cut();
    // The fallback's own counter starts at 0: the call succeeded without Redis.
    expect(await store.nextCounter('rr')).toBe(0);
    const status = store.status();
    expect(status.backend).toBe('fallback');
    expect(status.degradedSince).toBeGreaterThanOrEqual(before);
    expect(status.lastError).toEqual(expect.any(String));
    expect(states.map((s) => s.backend)).toEqual(['fallback']);

    // Once degraded, calls no longer wait on Redis.
    const callsWhenDegraded = primaryCalls.count;
    expect(await store.nextCounter('rr')).toBe(1);
    // A cooldown this relay set while Redis was up is still known locally.
    expect((await store.cooldowns(['account:a']))[0]).toBeGreaterThan(Date.now());
    await store.coolDown('account:b', 60_000);
    expect((await store.cooldowns(['account:b']))[0]).toBeGreaterThan(Date.now());
    expect(primaryCalls.count).toBe(callsWhenDegraded);
  });

  it('when Redis comes back, then the store reports recovery and shared state resumes in Redis', async () => {
    const { prefix, direct, proxy, store, states, nextState } = await setUp();
    expect(await store.nextCounter('rr')).toBe(0);
    proxy.cut();
    expect(await store.nextCounter('rr')).toBe(0);
    expect(store.status().backend).toBe('fallback');

    const recovered = nextState('primary');
    proxy.restore();
    await recovered;

    expect(store.status()).toEqual({ backend: 'primary', degradedSince: null, lastError: null });
    expect(states.map((s) => s.backend)).toEqual(['fallback', 'primary']);
    // Redis held 1 before the outage; the next value continues from there.
    expect(await store.nextCounter('rr')).toBe(1);
    expect(await direct.get(`${prefix}rr:rr`)).toBe('2');
  });
});

/** A scope with no limits unless given. */
function limitScope(id: string, limits: Partial<Omit<LimitScope, 'id'>> = {}): LimitScope {
  return {
    id,
    quotaNano: null,
    usedNano: 0,
    rpmLimit: null,
    tpmLimit: null,
    concurrencyLimit: null,
    ...limits,
  };
}

let requestSeq = 0;
function admission(scopes: LimitScope[], over: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    requestId: `req-${++requestSeq}`,
    now: Date.now(),
    ttlMs: 60_000,
    holdNano: 0,
    tokens: 0,
    scopes,
    ...over,
  };
}

async function admitted(store: ResilientCoordinationStore, requests: AdmissionRequest[]): Promise<number> {
  const decisions: AdmissionDecision[] = [];
  for (const request of requests) decisions.push(await store.admit(request));
  return decisions.filter((d) => d.admitted).length;
}

describe('ResilientCoordinationStore limits while Redis is away', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp() {
    const prefix = `switchyard-test:${randomUUID()}:`;
    const direct = new Redis(REDIS_URL.toString());
    cleanups.push(async () => {
      await deleteByPrefix(direct, prefix);
      await direct.quit();
    });
    const proxy = await startTcpProxy(REDIS_URL.hostname, Number(REDIS_URL.port || 6379));
    cleanups.push(() => proxy.close());
    const redis = new RedisCoordinationStore({
      url: viaProxy(proxy),
      keyPrefix: prefix,
      commandTimeoutMs: 200,
      connectTimeoutMs: 200,
    });
    cleanups.push(() => redis.close());
    await redis.ready();
    const store = new ResilientCoordinationStore(redis, new MemoryCoordinationStore());
    cleanups.push(async () => store.close());
    return { prefix, direct, proxy, store };
  }

  it('when Redis is reachable, then admission state lives in Redis under the prefix, each key with a TTL', async () => {
    const { prefix, direct, store } = await setUp();
    const s = limitScope('k:1:100', { quotaNano: 1_000, rpmLimit: 10 });
    const request = admission([s], { holdNano: 300, tokens: 50, ttlMs: 30_000 });
    expect(await store.admit(request)).toMatchObject({ admitted: true, scopes: [{ remainingNano: 700 }] });
    const q = `${prefix}q:k:1:100:`;
    const idx = Math.floor(request.now / 60_000);
    expect(await direct.get(`${q}used`)).toBe('0');
    expect(await direct.get(`${q}held`)).toBe('300');
    expect(await direct.hgetall(`${q}amts`)).toEqual({ [request.requestId]: '300' });
    expect(await direct.zscore(`${q}holds`, request.requestId)).toBe(String(request.now + 30_000));
    expect(await direct.get(`${q}r:${idx}`)).toBe('1');
    expect(await direct.get(`${q}t:${idx}`)).toBe('50');
    expect(await direct.pttl(`${q}used`)).toBeGreaterThan(34 * 24 * 3_600_000);
    for (const key of ['held', 'holds', 'amts']) {
      const ttl = await direct.pttl(`${q}${key}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(30_000);
    }
    for (const key of [`r:${idx}`, `t:${idx}`]) {
      const ttl = await direct.pttl(`${q}${key}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(120_000);
    }
    await store.release({
      requestId: request.requestId,
      now: request.now,
      admittedAt: request.now,
      holdNano: 300,
      costNano: 120,
      tokensDelta: 10,
      scopes: [s.id],
    });
    expect(await direct.get(`${q}used`)).toBe('120');
    expect(await direct.exists(`${q}held`, `${q}amts`)).toBe(0);
    expect(await direct.zcard(`${q}holds`)).toBe(0);
    expect(await direct.get(`${q}t:${idx}`)).toBe('60');
    expect(await store.heartbeat('relay-a', 10_000)).toBe(1);
    expect(await direct.zscore(`${prefix}relays`, 'relay-a')).not.toBeNull();
  });

  it('when Redis is cut after two relays beat, then this relay admits half of each rate and concurrency limit locally', async () => {
    const { proxy, store } = await setUp();
    expect(await store.heartbeat('relay-a', 30_000)).toBe(1);
    expect(await store.heartbeat('relay-b', 30_000)).toBe(2);
    proxy.cut();
    const rpm = limitScope('k:1:100', { rpmLimit: 10 });
    const now = Date.now();
    expect(
      await admitted(
        store,
        Array.from({ length: 10 }, () => admission([rpm], { now })),
      ),
    ).toBe(5);
    expect(store.status().backend).toBe('fallback');
    const refused = await store.admit(admission([rpm], { now }));
    expect(refused).toMatchObject({ admitted: false, reason: 'rpm', scopes: [{ requests: { limit: 5 } }] });

    const tpm = limitScope('k:2:100', { tpmLimit: 1_000 });
    expect(
      await admitted(
        store,
        Array.from({ length: 10 }, () => admission([tpm], { now, tokens: 100 })),
      ),
    ).toBe(5);
    const slots = limitScope('k:3:100', { concurrencyLimit: 4 });
    expect(
      await admitted(
        store,
        Array.from({ length: 4 }, () => admission([slots], { now })),
      ),
    ).toBe(2);

    // Answered locally (only this relay beats here), but limits keep the last count Redis gave.
    expect(await store.heartbeat('relay-a', 30_000)).toBe(1);
    expect(store.relayCount()).toBe(2);
    expect(await admitted(store, [admission([rpm], { now })])).toBe(0);
  });

  it("when Redis is cut, then this relay's quota is its share of what was left, from the spend Redis last reported", async () => {
    const { proxy, store } = await setUp();
    expect(await store.heartbeat('relay-a', 30_000)).toBe(1);
    expect(await store.heartbeat('relay-b', 30_000)).toBe(2);
    // The snapshot still says 0 spent; Redis knows 400 after a release.
    const s = limitScope('k:1:100', { quotaNano: 1_000, usedNano: 0 });
    const first = admission([s]);
    expect(await store.admit(first)).toMatchObject({ admitted: true });
    await store.release({
      requestId: first.requestId,
      now: first.now,
      admittedAt: first.now,
      holdNano: 0,
      costNano: 400,
      tokensDelta: 0,
      scopes: [s.id],
    });
    expect(await store.admit(admission([s]))).toMatchObject({
      admitted: true,
      scopes: [{ remainingNano: 600 }],
    });
    // A scope Redis never reported on: its share starts from the snapshot's spend.
    const unseen = limitScope('u:7:100', { quotaNano: 1_000, usedNano: 200 });

    proxy.cut();
    // 400 + floor((1000 − 400) / 2) = 700 here, 400 of it spent.
    expect(await store.admit(admission([s], { holdNano: 300 }))).toMatchObject({
      admitted: true,
      scopes: [{ remainingNano: 0 }],
    });
    expect(store.status().backend).toBe('fallback');
    expect(await store.admit(admission([s], { holdNano: 1 }))).toMatchObject({
      admitted: false,
      reason: 'quota',
    });
    // 200 + floor(800 / 2) = 600.
    expect(await store.admit(admission([unseen], { holdNano: 400 }))).toMatchObject({
      admitted: true,
      scopes: [{ remainingNano: 0 }],
    });
    expect(await store.admit(admission([unseen], { holdNano: 1 }))).toMatchObject({
      admitted: false,
      reason: 'quota',
    });
  });
});

/** A primary that fails on demand, for probe timing under fake timers. */
class FlakyPrimary extends MemoryCoordinationStore {
  down = false;
  pings = 0;
  override async nextCounter(key: string): Promise<number> {
    if (this.down) throw new Error('primary down');
    return super.nextCounter(key);
  }
  override async admitWithSpend(request: AdmissionRequest) {
    if (this.down) throw new Error('primary down');
    return super.admitWithSpend(request);
  }
  override async heartbeat(member: string, ttlMs: number): Promise<number> {
    if (this.down) throw new Error('primary down');
    return super.heartbeat(member, ttlMs);
  }
  async ping(): Promise<void> {
    this.pings++;
    if (this.down) throw new Error('still down');
  }
}

describe('ResilientCoordinationStore local shares', () => {
  it('when three relays were alive, then limits are divided by 3 (floor, at least 1), and 0 and unlimited stay', async () => {
    const primary = new FlakyPrimary();
    const store = new ResilientCoordinationStore(primary, new MemoryCoordinationStore());
    for (const relay of ['a', 'b', 'c']) await store.heartbeat(relay, 30_000);
    expect(store.relayCount()).toBe(3);
    primary.down = true;
    const now = Date.now();
    const s = limitScope('k:1:1', { rpmLimit: 10, tpmLimit: 2, concurrencyLimit: 0 });
    const decision = await store.admit(admission([s], { now }));
    expect(decision).toMatchObject({ admitted: false, reason: 'concurrency' });
    expect(decision.scopes[0]).toMatchObject({
      requests: { limit: 3 },
      tokens: { limit: 1 },
      remainingNano: null,
    });
    store.close();
  });

  it('when no heartbeat ever reached the primary, then the local limits are the whole limits', async () => {
    const primary = new FlakyPrimary();
    const store = new ResilientCoordinationStore(primary, new MemoryCoordinationStore());
    primary.down = true;
    expect(await store.heartbeat('a', 30_000)).toBe(1);
    expect(store.relayCount()).toBe(1);
    const rpm = limitScope('k:1:1', { rpmLimit: 4 });
    expect(
      await admitted(
        store,
        Array.from({ length: 6 }, () => admission([rpm])),
      ),
    ).toBe(4);
    const quota = limitScope('k:2:1', { quotaNano: 1_000, usedNano: 100 });
    expect(await store.admit(admission([quota], { holdNano: 900 }))).toMatchObject({
      admitted: true,
      scopes: [{ remainingNano: 0 }],
    });
    expect(await store.admit(admission([quota], { holdNano: 1 }))).toMatchObject({
      admitted: false,
      reason: 'quota',
    });
    store.close();
  });
});

describe('ResilientCoordinationStore probe', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('when the primary fails, then it is pinged once per interval until it answers, and not after', async () => {
    vi.useFakeTimers();
    const primary = new FlakyPrimary();
    const states: string[] = [];
    const store = new ResilientCoordinationStore(primary, new MemoryCoordinationStore(), {
      probeIntervalMs: 1_000,
      onStateChange: (s) => states.push(s.backend),
    });
    primary.down = true;
    await store.nextCounter('k');
    expect(primary.pings).toBe(0);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(primary.pings).toBe(3);
    expect(store.status()).toMatchObject({ backend: 'fallback', lastError: 'still down' });
    primary.down = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(states).toEqual(['fallback', 'primary']);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(primary.pings).toBe(4);
    store.close();
  });

  it('when the store is closed while degraded, then the probe stops', async () => {
    vi.useFakeTimers();
    const primary = new FlakyPrimary();
    const states: string[] = [];
    const store = new ResilientCoordinationStore(primary, new MemoryCoordinationStore(), {
      probeIntervalMs: 1_000,
      onStateChange: (s) => states.push(s.backend),
    });
    primary.down = true;
    await store.nextCounter('k');
    store.close();
    primary.down = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(primary.pings).toBe(0);
    expect(states).toEqual(['fallback']);
  });

  it('when the state-change callback throws, then the call that noticed the outage still succeeds', async () => {
    const primary = new FlakyPrimary();
    const store = new ResilientCoordinationStore(primary, new MemoryCoordinationStore(), {
      onStateChange: () => {
        throw new Error('observer failed');
      },
    });
    primary.down = true;
    expect(await store.nextCounter('k')).toBe(0);
    expect(store.status().backend).toBe('fallback');
    store.close();
  });
});

describe('RedisCoordinationStore start-up', () => {
  it('when Redis is not reachable, then ready() rejects naming the server', async () => {
    const proxy = await startTcpProxy(REDIS_URL.hostname, Number(REDIS_URL.port || 6379));
    proxy.cut();
    const redis = new RedisCoordinationStore({ url: viaProxy(proxy), connectTimeoutMs: 200 });
    try {
      await expect(redis.ready()).rejects.toThrow(
        `Redis at 127.0.0.1:${proxy.port} is not reachable within 200 ms`,
      );
      await expect(redis.nextCounter('x')).rejects.toThrow();
    } finally {
      await redis.close();
      await proxy.close();
    }
  });
});
