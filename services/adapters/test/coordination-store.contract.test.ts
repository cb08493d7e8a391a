import { describe, expect, it } from 'vitest';
import type { CoordinationStore } from '@switchyard/core';
import { MemoryCoordinationStore } from '@switchyard/adapters';

interface CoordinationStoreFixture {
  name: string;
  make(): CoordinationStore;
}

/** Every CoordinationStore adapter runs the same contract suite; a new adapter (Redis) adds one entry here. */
const COORDINATION_STORES: CoordinationStoreFixture[] = [
  { name: 'memory', make: () => new MemoryCoordinationStore() },
];

/** Keys unique to this run, so a shared external store never sees counters left by another test. */
let keySeq = 0;
const freshKey = (label: string) => `test:${process.pid}:${Date.now()}:${++keySeq}:${label}`;

for (const f of COORDINATION_STORES) {
  describe(`CoordinationStore contract: ${f.name}`, () => {
    it('when a counter is new, then it starts at 0 and each call returns the next integer', async () => {
      const store = f.make();
      const key = freshKey('rr');
      const values: number[] = [];
      for (let i = 0; i < 5; i++) values.push(await store.nextCounter(key));
      expect(values).toEqual([0, 1, 2, 3, 4]);
    });

    it('when two keys are used, then their counters are independent', async () => {
      const store = f.make();
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
      const store = f.make();
      const key = freshKey('concurrent');
      const values = await Promise.all(Array.from({ length: 100 }, () => store.nextCounter(key)));
      expect(new Set(values).size).toBe(100);
      expect([...values].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(await store.nextCounter(key)).toBe(100);
    });
  });
}
