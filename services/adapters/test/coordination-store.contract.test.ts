import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type {
  AdmissionDecision,
  AdmissionRelease,
  AdmissionRequest,
  CoordinationStore,
  LimitScope,
} from '@switchyard/core';
import {
  MemoryCoordinationStore,
  RedisCoordinationStore,
  ResilientCoordinationStore,
} from '@switchyard/adapters';

const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** One prefix per test run: stores opened with it share state (like two relays), and cleanup deletes it. */
const REDIS_PREFIX = `switchyard-test:${randomUUID()}:`;

interface OpenedStore {
  store: CoordinationStore;
  close(): Promise<void>;
}

interface CoordinationStoreFixture {
  name: string;
  open(): Promise<OpenedStore>;
  /** Whether two opened stores share their state, as relays sharing one Redis do. */
  shared: boolean;
}

async function openRedis(): Promise<RedisCoordinationStore> {
  const store = new RedisCoordinationStore({ url: REDIS_URL, keyPrefix: REDIS_PREFIX });
  await store.ready();
  return store;
}

/** Every CoordinationStore adapter runs the same contract suite; a new adapter adds one entry here. */
const COORDINATION_STORES: CoordinationStoreFixture[] = [
  {
    name: 'memory',
    shared: false,
    open: async () => ({ store: new MemoryCoordinationStore(), close: async () => {} }),
  },
  {
    name: 'redis',
    shared: true,
    open: async () => {
      const store = await openRedis();
      return { store, close: () => store.close() };
    },
  },
  {
    name: 'resilient(redis, memory)',
    shared: true,
    open: async () => {
      const redis = await openRedis();
      const store = new ResilientCoordinationStore(redis, new MemoryCoordinationStore());
      return {
        store,
        close: async () => {
          // Healthy throughout: a switch to the fallback would mean the contract ran against memory.
          expect(store.status().backend).toBe('primary');
          store.close();
          await redis.close();
        },
      };
    },
  },
];

/** Keys unique to this run, so a shared external store never sees counters left by another test. */
let keySeq = 0;
const freshKey = (label: string) => `test:${process.pid}:${Date.now()}:${++keySeq}:${label}`;

/** Rate windows are one minute long (the contract's per-minute limits). */
const WINDOW_MS = 60_000;
/** A window start far ahead of the clock: admissions choose their `now` freely from here. */
const T0 = (Math.floor(Date.now() / WINDOW_MS) + 1_000) * WINDOW_MS;
let requestSeq = 0;
const requestId = () => `req:${process.pid}:${++requestSeq}`;
let clockJumps = 0;

/** A scope with a fresh id and no limits unless given. */
function limitScope(limits: Partial<Omit<LimitScope, 'id'>> = {}): LimitScope {
  return {
    id: freshKey('scope'),
    quotaNano: null,
    usedNano: 0,
    rpmLimit: null,
    tpmLimit: null,
    concurrencyLimit: null,
    ...limits,
  };
}

/** An admission at T0 with a fresh request id, nothing held and no tokens unless given. */
function admission(scopes: LimitScope[], over: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return { requestId: requestId(), now: T0, ttlMs: 60_000, holdNano: 0, tokens: 0, scopes, ...over };
}

/** The release of `a` at its own `now`, costing nothing and with the estimate exact unless given. */
function releaseOf(a: AdmissionRequest, over: Partial<AdmissionRelease> = {}): AdmissionRelease {
  return {
    requestId: a.requestId,
    now: a.now,
    admittedAt: a.now,
    holdNano: a.holdNano,
    costNano: 0,
    tokensDelta: 0,
    scopes: a.scopes.map((s) => s.id),
    ...over,
  };
}

afterAll(async () => {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${REDIS_PREFIX}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
});

for (const f of COORDINATION_STORES) {
  describe(`CoordinationStore contract: ${f.name}`, () => {
    const opened: OpenedStore[] = [];
    const open = async (): Promise<CoordinationStore> => {
      const o = await f.open();
      opened.push(o);
      return o.store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((o) => o.close()));
    });

    it('when a counter is new, then it starts at 0 and each call returns the next integer', async () => {
      const store = await open();
      const key = freshKey('rr');
      const values: number[] = [];
      for (let i = 0; i < 5; i++) values.push(await store.nextCounter(key));
      expect(values).toEqual([0, 1, 2, 3, 4]);
    });

    it('when two keys are used, then their counters are independent', async () => {
      const store = await open();
      const a = freshKey('a');
      const b = freshKey('b');
      expect(await store.nextCounter(a)).toBe(0);
      expect(await store.nextCounter(a)).toBe(1);
      expect(await store.nextCounter(a)).toBe(2);
      expect(await store.nextCounter(b)).toBe(0);
      expect(await store.nextCounter(a)).toBe(3);
      expect(await store.nextCounter(b)).toBe(1);
    });

    it('when 100 calls run concurrently, then they return 100 distinct values, 0 to 99', async () => {
      const store = await open();
      const key = freshKey('concurrent');
      const values = await Promise.all(Array.from({ length: 100 }, () => store.nextCounter(key)));
      expect(new Set(values).size).toBe(100);
      expect([...values].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(await store.nextCounter(key)).toBe(100);
    });

    if (f.shared) {
      it('when two stores (two relays) share a counter, then 200 interleaved calls return 200 distinct values', async () => {
        const [first, second] = [await open(), await open()];
        const key = freshKey('two-relays');
        const values = await Promise.all(
          Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? first : second).nextCounter(key)),
        );
        expect([...values].sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      });

      it('when one store sets a cooldown, then another store sharing its state sees it', async () => {
        const [first, second] = [await open(), await open()];
        const key = freshKey('cd-shared');
        await first.coolDown(key, 10_000);
        expect((await second.cooldowns([key]))[0]).toBeGreaterThan(Date.now());
      });
    }

    it('when a key never cooled down, then its cooldown is 0', async () => {
      const store = await open();
      expect(await store.cooldowns([freshKey('cd-none')])).toEqual([0]);
    });

    it('when no keys are asked for, then the answer is empty', async () => {
      const store = await open();
      expect(await store.cooldowns([])).toEqual([]);
    });

    it('when a key cools down for ms, then its cooldown ends about ms from now', async () => {
      const store = await open();
      const key = freshKey('cd-set');
      const before = Date.now();
      await store.coolDown(key, 10_000);
      const after = Date.now();
      const [until] = await store.cooldowns([key]);
      expect(until).toBeGreaterThanOrEqual(before + 10_000);
      expect(until).toBeLessThanOrEqual(after + 10_000);
    });

    it('when a shorter cooldown follows a longer one, then the longer one is kept', async () => {
      const store = await open();
      const key = freshKey('cd-longer');
      await store.coolDown(key, 30_000);
      const [longUntil] = await store.cooldowns([key]);
      await store.coolDown(key, 1_000);
      expect(await store.cooldowns([key])).toEqual([longUntil]);
    });

    it('when a longer cooldown follows a shorter one, then the longer one replaces it', async () => {
      const store = await open();
      const key = freshKey('cd-extend');
      await store.coolDown(key, 1_000);
      const before = Date.now();
      await store.coolDown(key, 30_000);
      const [until] = await store.cooldowns([key]);
      expect(until).toBeGreaterThanOrEqual(before + 30_000);
    });

    it('when a cooldown is cleared, then its cooldown is 0', async () => {
      const store = await open();
      const key = freshKey('cd-clear');
      await store.coolDown(key, 30_000);
      expect((await store.cooldowns([key]))[0]).toBeGreaterThan(0);
      await store.clearCooldown(key);
      expect(await store.cooldowns([key])).toEqual([0]);
    });

    it('when a cooldown of non-positive ms is asked for, then nothing is set', async () => {
      const store = await open();
      const key = freshKey('cd-zero');
      await store.coolDown(key, 0);
      await store.coolDown(key, -5);
      expect(await store.cooldowns([key])).toEqual([0]);
    });

    it('when a cooldown has expired, then its cooldown is 0 and a shorter one can be set again', async () => {
      const store = await open();
      const key = freshKey('cd-expire');
      await store.coolDown(key, 50);
      expect((await store.cooldowns([key]))[0]).toBeGreaterThan(0);
      // The TTL itself is the event: once 50 ms have passed, the cooldown must be gone.
      await sleep(60);
      expect(await store.cooldowns([key])).toEqual([0]);
      const before = Date.now();
      await store.coolDown(key, 5_000);
      expect((await store.cooldowns([key]))[0]).toBeGreaterThanOrEqual(before + 5_000);
    });

    it('when two members report health for a key, then both reports come back, the latest per member', async () => {
      const store = await open();
      const [a, b, none] = [freshKey('hl-a'), freshKey('hl-b'), freshKey('hl-none')];
      await store.reportHealth(a, 'relay-1', '{"state":"open"}', 10_000);
      await store.reportHealth(a, 'relay-2', '{"state":"closed"}', 10_000);
      await store.reportHealth(a, 'relay-1', '{"state":"half_open"}', 10_000);
      await store.reportHealth(b, 'relay-1', '{"state":"closed"}', 10_000);
      expect(await store.healthReports([a, none, b])).toEqual([
        { 'relay-1': '{"state":"half_open"}', 'relay-2': '{"state":"closed"}' },
        {},
        { 'relay-1': '{"state":"closed"}' },
      ]);
      expect(await store.healthReports([])).toEqual([]);
    });

    it('when health reports outlive their ttl, then they are gone', async () => {
      const store = await open();
      const key = freshKey('hl-expire');
      await store.reportHealth(key, 'relay-1', '{}', 50);
      expect(await store.healthReports([key])).toEqual([{ 'relay-1': '{}' }]);
      // The TTL itself is the event: once 50 ms have passed, the report must be gone.
      await sleep(70);
      expect(await store.healthReports([key])).toEqual([{}]);
    });

    it('when many keys are asked for in one call, then their cooldowns come back in the order asked', async () => {
      const store = await open();
      const keys = Array.from({ length: 50 }, (_, i) => freshKey(`cd-many-${i}`));
      const before = Date.now();
      // Odd keys cool down, each for a second longer than the previous one; even keys do not.
      for (let i = 1; i < keys.length; i += 2) await store.coolDown(keys[i]!, 10_000 + i * 1_000);
      const after = Date.now();
      const untils = await store.cooldowns(keys);
      expect(untils).toHaveLength(keys.length);
      untils.forEach((until, i) => {
        if (i % 2 === 0) {
          expect(until).toBe(0);
        } else {
          expect(until).toBeGreaterThanOrEqual(before + 10_000 + i * 1_000);
          expect(until).toBeLessThanOrEqual(after + 10_000 + i * 1_000);
        }
      });
    });

    describe('admission', () => {
      it('when holds reach the quota exactly, then they are admitted, and one nano-USD more is refused', async () => {
        const store = await open();
        const s = limitScope({ quotaNano: 1_000 });
        const first = await store.admit(admission([s], { holdNano: 600 }));
        expect(first).toEqual({
          admitted: true,
          scopes: [{ id: s.id, requests: null, tokens: null, remainingNano: 400 }],
        });
        const second = await store.admit(admission([s], { holdNano: 400 }));
        expect(second).toMatchObject({ admitted: true, scopes: [{ remainingNano: 0 }] });
        expect(await store.admit(admission([s], { holdNano: 0 }))).toMatchObject({ admitted: true });
        const refused = await store.admit(admission([s], { holdNano: 1 }));
        expect(refused).toEqual({
          admitted: false,
          scope: s.id,
          reason: 'quota',
          retryAfterMs: null,
          scopes: [{ id: s.id, requests: null, tokens: null, remainingNano: 0 }],
        });
      });

      it('when a scope has no limits, then its state shows none and every request is admitted', async () => {
        const store = await open();
        const s = limitScope();
        const decision = await store.admit(admission([s], { holdNano: 10 ** 15, tokens: 10 ** 9 }));
        expect(decision).toEqual({
          admitted: true,
          scopes: [{ id: s.id, requests: null, tokens: null, remainingNano: null }],
        });
        expect(await store.admit(admission([]))).toEqual({ admitted: true, scopes: [] });
      });

      it('when a request is released, then its hold is freed and its real cost is added to the spend', async () => {
        const store = await open();
        const s = limitScope({ quotaNano: 1_000 });
        const a = admission([s], { holdNano: 700 });
        expect(await store.admit(a)).toMatchObject({ admitted: true, scopes: [{ remainingNano: 300 }] });
        expect(await store.admit(admission([s], { holdNano: 400 }))).toMatchObject({
          admitted: false,
          reason: 'quota',
          scopes: [{ remainingNano: 300 }],
        });
        await store.release(releaseOf(a, { costNano: 200 }));
        expect(await store.admit(admission([s], { holdNano: 400 }))).toMatchObject({
          admitted: true,
          scopes: [{ remainingNano: 1_000 - 200 - 400 }],
        });
      });

      it('when a release is repeated, then the hold is freed once and the cost is added each time', async () => {
        const store = await open();
        const s = limitScope({ quotaNano: 1_000 });
        const a = admission([s], { holdNano: 500 });
        expect(await store.admit(a)).toMatchObject({ admitted: true });
        expect(await store.admit(admission([s], { holdNano: 500 }))).toMatchObject({ admitted: true });
        await store.release(releaseOf(a, { costNano: 100 }));
        await store.release(releaseOf(a, { costNano: 100 }));
        // Spend 200 and the other request's hold of 500: a second free of 500 would leave 800.
        expect(await store.admit(admission([s]))).toMatchObject({
          admitted: true,
          scopes: [{ remainingNano: 300 }],
        });
      });

      it('when a hold outlives its ttl, then the next admission purges it, and a late release frees nothing twice', async () => {
        const store = await open();
        const s = limitScope({ quotaNano: 1_000 });
        const a = admission([s], { holdNano: 1_000, ttlMs: 30_000 });
        expect(await store.admit(a)).toMatchObject({ admitted: true });
        expect(await store.admit(admission([s], { holdNano: 1, now: T0 + 29_999 }))).toMatchObject({
          admitted: false,
          reason: 'quota',
        });
        const b = admission([s], { holdNano: 1, now: T0 + 30_000 });
        expect(await store.admit(b)).toMatchObject({ admitted: true, scopes: [{ remainingNano: 999 }] });
        await store.release(releaseOf(a, { now: T0 + 30_001, costNano: 300 }));
        // Spend 300 plus b's hold of 1; freeing a's expired 1000 again would show 999 + 1000 − 300.
        expect(await store.admit(admission([s], { now: T0 + 30_002 }))).toMatchObject({
          admitted: true,
          scopes: [{ remainingNano: 1_000 - 300 - 1 }],
        });
      });

      it('when the store holds no spend for a scope, then it starts from the snapshot and keeps its own after', async () => {
        const store = await open();
        const s = limitScope({ quotaNano: 1_000, usedNano: 900 });
        expect(await store.admit(admission([s], { holdNano: 100 }))).toMatchObject({
          admitted: true,
          scopes: [{ remainingNano: 0 }],
        });
        // A snapshot that lags behind (spend 0) does not reset what the store counts.
        expect(await store.admit(admission([{ ...s, usedNano: 0 }], { holdNano: 1 }))).toMatchObject({
          admitted: false,
          reason: 'quota',
        });
        const spent = limitScope({ quotaNano: 1_000, usedNano: 1_000 });
        expect(await store.admit(admission([spent], { holdNano: 1 }))).toMatchObject({
          admitted: false,
          scope: spent.id,
          reason: 'quota',
          scopes: [{ remainingNano: 0 }],
        });
      });

      it('when a release comes for a scope the store holds no spend for, then the next admission seeds from the snapshot', async () => {
        const store = await open();
        const s = limitScope({ quotaNano: 1_000, usedNano: 100 });
        await store.release({
          requestId: requestId(),
          now: T0,
          admittedAt: T0,
          holdNano: 0,
          costNano: 500,
          tokensDelta: 0,
          scopes: [s.id],
        });
        expect(await store.admit(admission([s], { holdNano: 50 }))).toMatchObject({
          admitted: true,
          scopes: [{ remainingNano: 1_000 - 100 - 50 }],
        });
      });

      it('when the concurrency limit is reached, then the next request is refused until one is released', async () => {
        const store = await open();
        const s = limitScope({ concurrencyLimit: 2 });
        const a = admission([s], { ttlMs: 30_000 });
        expect(await store.admit(a)).toMatchObject({ admitted: true });
        expect(await store.admit(admission([s], { ttlMs: 30_000 }))).toMatchObject({ admitted: true });
        expect(await store.admit(admission([s]))).toEqual({
          admitted: false,
          scope: s.id,
          reason: 'concurrency',
          retryAfterMs: 1_000,
          scopes: [{ id: s.id, requests: null, tokens: null, remainingNano: null }],
        });
        // The earliest hold expires in 500 ms: sooner than the usual second.
        expect(await store.admit(admission([s], { now: T0 + 29_500 }))).toMatchObject({
          admitted: false,
          reason: 'concurrency',
          retryAfterMs: 500,
        });
        await store.release(releaseOf(a));
        expect(await store.admit(admission([s], { now: T0 + 29_500 }))).toMatchObject({ admitted: true });
      });

      it('when 100 requests arrive at one moment against 60 requests per minute, then exactly 60 are admitted', async () => {
        const store = await open();
        const s = limitScope({ rpmLimit: 60 });
        const decisions: AdmissionDecision[] = [];
        for (let i = 0; i < 100; i++) decisions.push(await store.admit(admission([s])));
        expect(decisions.filter((d) => d.admitted)).toHaveLength(60);
        expect(decisions.slice(0, 60).every((d) => d.admitted)).toBe(true);
        expect(decisions[0]!.scopes[0]!.requests).toEqual({ limit: 60, remaining: 59, resetMs: 120_000 });
        expect(decisions[59]!.scopes[0]!.requests).toEqual({ limit: 60, remaining: 0, resetMs: 120_000 });
        // Full for this window; in the next one the 60 slide out, and one of them has after 1 s.
        expect(decisions[60]).toEqual({
          admitted: false,
          scope: s.id,
          reason: 'rpm',
          retryAfterMs: 61_000,
          scopes: [
            {
              id: s.id,
              requests: { limit: 60, remaining: 0, resetMs: 120_000 },
              tokens: null,
              remainingNano: null,
            },
          ],
        });
      });

      it('when a window ends, then the previous one counts by how much of it still overlaps the last minute', async () => {
        const store = await open();
        const s = limitScope({ rpmLimit: 10 });
        for (let i = 0; i < 10; i++) expect((await store.admit(admission([s]))).admitted).toBe(true);
        // Half-way through the next window the 10 count as 5: five more fit.
        const mid = T0 + WINDOW_MS + 30_000;
        const first = await store.admit(admission([s], { now: mid }));
        expect(first).toMatchObject({
          admitted: true,
          scopes: [{ requests: { limit: 10, remaining: 4, resetMs: 90_000 } }],
        });
        for (let i = 0; i < 4; i++)
          expect((await store.admit(admission([s], { now: mid }))).admitted).toBe(true);
        const refused = await store.admit(admission([s], { now: mid }));
        // 10 × (1 − 36/60) + 5 + 1 = 10 at 36 s into the window: 6 s from now.
        expect(refused).toMatchObject({ admitted: false, reason: 'rpm', retryAfterMs: 6_000 });
        expect(await store.admit(admission([s], { now: mid + 5_999 }))).toMatchObject({ admitted: false });
        expect(await store.admit(admission([s], { now: mid + 6_000 }))).toMatchObject({ admitted: true });
      });

      it('when token-heavy requests fill the token window, then they are refused until it slides', async () => {
        const store = await open();
        const s = limitScope({ tpmLimit: 1_000 });
        const a = admission([s], { tokens: 600 });
        expect(await store.admit(a)).toMatchObject({
          admitted: true,
          scopes: [{ tokens: { limit: 1_000, remaining: 400, resetMs: 120_000 } }],
        });
        // 600 counted: 500 more fit once only 5/6 of them still count, 10 s into the next window.
        expect(await store.admit(admission([s], { tokens: 500 }))).toEqual({
          admitted: false,
          scope: s.id,
          reason: 'tpm',
          retryAfterMs: 70_000,
          scopes: [
            {
              id: s.id,
              requests: null,
              tokens: { limit: 1_000, remaining: 0, resetMs: 120_000 },
              remainingNano: null,
            },
          ],
        });
        // A request larger than the whole limit never fits.
        expect(await store.admit(admission([s], { tokens: 1_001 }))).toMatchObject({
          admitted: false,
          reason: 'tpm',
          retryAfterMs: WINDOW_MS,
        });
      });

      it('when releases correct the token estimate, then the token window follows, never below 0', async () => {
        const store = await open();
        const s = limitScope({ tpmLimit: 1_000 });
        const a = admission([s], { tokens: 600 });
        expect(await store.admit(a)).toMatchObject({ admitted: true });
        await store.release(releaseOf(a, { now: T0 + 1_000, tokensDelta: -300 }));
        const b = admission([s], { tokens: 700, now: T0 + 1_000 });
        expect(await store.admit(b)).toMatchObject({
          admitted: true,
          scopes: [{ tokens: { remaining: 0 } }],
        });
        expect(await store.admit(admission([s], { tokens: 1, now: T0 + 2_000 }))).toMatchObject({
          admitted: false,
          reason: 'tpm',
        });
        // Real usage far below the estimate: the window is clamped at 0, not negative.
        await store.release(releaseOf(b, { now: T0 + 2_000, tokensDelta: -5_000 }));
        expect(await store.admit(admission([s], { tokens: 1_000, now: T0 + 2_000 }))).toMatchObject({
          admitted: true,
          scopes: [{ tokens: { remaining: 0 } }],
        });
        expect(await store.admit(admission([s], { tokens: 1, now: T0 + 2_000 }))).toMatchObject({
          admitted: false,
        });
      });

      it('when a later scope refuses, then nothing is taken in the scope that would admit', async () => {
        const store = await open();
        const key = limitScope({ quotaNano: 1_000, rpmLimit: 10, tpmLimit: 1_000, concurrencyLimit: 10 });
        const user = limitScope({ quotaNano: 100 });
        const refused = await store.admit(admission([key, user], { holdNano: 500, tokens: 100 }));
        expect(refused).toEqual({
          admitted: false,
          scope: user.id,
          reason: 'quota',
          retryAfterMs: null,
          scopes: [
            {
              id: key.id,
              requests: { limit: 10, remaining: 0, resetMs: 0 },
              tokens: { limit: 1_000, remaining: 0, resetMs: 0 },
              remainingNano: 1_000,
            },
            { id: user.id, requests: null, tokens: null, remainingNano: 100 },
          ],
        });
        // The key scope still has its whole quota, requests, tokens and slots.
        for (let i = 0; i < 10; i++) {
          expect(await store.admit(admission([key], { holdNano: 100, tokens: 100 }))).toMatchObject({
            admitted: true,
          });
        }
        expect(await store.admit(admission([key]))).toMatchObject({ admitted: false });
      });

      it('when every scope admits, then each takes the hold and counts', async () => {
        const store = await open();
        const key = limitScope({ quotaNano: 1_000, rpmLimit: 5 });
        const user = limitScope({ quotaNano: 2_000, usedNano: 500, concurrencyLimit: 1 });
        expect(await store.admit(admission([key, user], { holdNano: 300 }))).toEqual({
          admitted: true,
          scopes: [
            {
              id: key.id,
              requests: { limit: 5, remaining: 4, resetMs: 120_000 },
              tokens: null,
              remainingNano: 700,
            },
            { id: user.id, requests: null, tokens: null, remainingNano: 1_200 },
          ],
        });
        // The user's one slot is taken, so the key scope is left untouched by the refusal.
        expect(await store.admit(admission([key, user]))).toMatchObject({
          admitted: false,
          scope: user.id,
          reason: 'concurrency',
        });
        expect(await store.admit(admission([key]))).toMatchObject({
          admitted: true,
          scopes: [{ requests: { remaining: 3 }, remainingNano: 700 }],
        });
      });

      it('when 100 admissions run concurrently against a quota for 10, then exactly 10 are admitted', async () => {
        const store = await open();
        const s = limitScope({ quotaNano: 1_000 });
        const decisions = await Promise.all(
          Array.from({ length: 100 }, () => store.admit(admission([s], { holdNano: 100 }))),
        );
        expect(decisions.filter((d) => d.admitted)).toHaveLength(10);
        expect(decisions.filter((d) => !d.admitted).every((d) => !d.admitted && d.reason === 'quota')).toBe(
          true,
        );
      });

      if (f.shared) {
        it('when two stores (two relays) admit concurrently against one quota, then exactly 10 of 100 are admitted', async () => {
          const [first, second] = [await open(), await open()];
          const s = limitScope({ quotaNano: 1_000, rpmLimit: 1_000 });
          const decisions = await Promise.all(
            Array.from({ length: 100 }, (_, i) =>
              (i % 2 === 0 ? first : second).admit(admission([s], { holdNano: 100 })),
            ),
          );
          expect(decisions.filter((d) => d.admitted)).toHaveLength(10);
        });
      }

      it('when relays beat, then the live ones are counted once each, and those past their ttl are not', async () => {
        const store = await open();
        const [a, b] = [freshKey('relay-a'), freshKey('relay-b')];
        // Other tests sharing a Redis may have live relays too: counts are relative to the first.
        const base = await store.heartbeat(a, 10_000);
        expect(base).toBeGreaterThanOrEqual(1);
        expect(await store.heartbeat(b, 10_000)).toBe(base + 1);
        expect(await store.heartbeat(a, 10_000)).toBe(base + 1);
        // An hour later every earlier beat has expired: only the new one counts.
        // Each run jumps an hour further than the last, past the beat a previous run left in the future.
        const later = Date.now() + 3_600_000 * ++clockJumps;
        const clock = vi.spyOn(Date, 'now').mockReturnValue(later);
        try {
          expect(await store.heartbeat(a, 10_000)).toBe(1);
        } finally {
          clock.mockRestore();
        }
      });
    });
  });
}
