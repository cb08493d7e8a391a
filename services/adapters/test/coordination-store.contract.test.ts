import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CoordinationStore } from '@switchyard/core';
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
  });
}
