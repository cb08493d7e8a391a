import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
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

/** A primary that fails on demand, for probe timing under fake timers. */
class FlakyPrimary extends MemoryCoordinationStore {
  down = false;
  pings = 0;
  override async nextCounter(key: string): Promise<number> {
    if (this.down) throw new Error('primary down');
    return super.nextCounter(key);
  }
  async ping(): Promise<void> {
    this.pings++;
    if (this.down) throw new Error('still down');
  }
}

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
