import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { UsageBus, UsageEvent } from '@switchyard/core';
import { InProcessUsageBus, NatsUsageBus } from '@switchyard/adapters';
import { deleteNatsStreams, natsTestNames, NATS_TEST_URL } from './nats-test-streams.js';
import { ids, usageEvent } from './usage-event-fixture.js';

/** What a contract test may ask of a bus; an adapter maps these onto its own knobs. */
interface BusOptions {
  batchSize?: number;
  flushDelayMs?: number;
}

/** Both adapters also report their consumer lag (for `switchyard_usage_consumer_pending`). */
type MeasuredUsageBus = UsageBus & { consumerPending(): Promise<number> };

interface UsageBusFixture {
  name: string;
  make(opts?: BusOptions): Promise<MeasuredUsageBus>;
}

/** Streams created by the NATS fixture, deleted after the suite. */
const natsStreams: string[] = [];
afterAll(() => deleteNatsStreams(natsStreams));

/** Every UsageBus adapter runs the same contract suite; a new adapter (NATS) adds one entry here. */
const USAGE_BUSES: UsageBusFixture[] = [
  {
    name: 'in-process',
    // Why retryBaseMs 1: redelivery after a failing handler arrives in milliseconds, not the production 200 ms+.
    make: async (opts = {}) => new InProcessUsageBus({ retryBaseMs: 1, ...opts }),
  },
  {
    name: 'nats',
    make: async (opts = {}) => {
      const names = natsTestNames();
      natsStreams.push(names.stream);
      // Why nakDelayMs 50: redelivery after a failing handler within the test's patience, not the production 1 s.
      return NatsUsageBus.connect({ servers: NATS_TEST_URL, ...names, nakDelayMs: 50, ...opts });
    },
  },
];

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
/** Yields to the event loop once (not a timed wait): lets already-queued immediates run. */
const nextMacrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

for (const f of USAGE_BUSES) {
  describe(`UsageBus contract: ${f.name}`, () => {
    it('when the handler succeeds, then every published event reaches it exactly once, in publish order', async () => {
      const bus = await f.make({ batchSize: 4 });
      const batches: UsageEvent[][] = [];
      bus.subscribe(async (events) => {
        batches.push([...events]);
      });
      for (const n of range(0, 10)) bus.publish(usageEvent(n));
      await bus.drained();
      for (const n of range(10, 15)) bus.publish(usageEvent(n));
      await bus.drained();

      expect(batches.flatMap(ids)).toEqual(range(0, 15).map((n) => `req-${n}`));
      for (const b of batches) expect(b.length).toBeLessThanOrEqual(4);
      await bus.close();
    });

    it('when events are published before anyone subscribes, then they are delivered once a handler subscribes', async () => {
      const bus = await f.make();
      for (const n of range(0, 3)) bus.publish(usageEvent(n));
      const handled: UsageEvent[] = [];
      let delivered!: () => void;
      const firstDelivery = new Promise<void>((resolve) => (delivered = resolve));
      bus.subscribe(async (events) => {
        handled.push(...events);
        delivered();
      });
      await firstDelivery;
      await bus.drained();

      expect(ids(handled)).toEqual(['req-0', 'req-1', 'req-2']);
      await bus.close();
    });

    it('when events wait for the handler, then consumerPending() counts them until they are handled, then is 0', async () => {
      const bus = await f.make();
      for (const n of range(0, 4)) bus.publish(usageEvent(n));
      // publish() only queues: the NATS bus reaches the stream a moment later, so wait for all four.
      const deadline = Date.now() + 5_000;
      let pending = await bus.consumerPending();
      while (pending < 4 && Date.now() < deadline) {
        await nextMacrotask();
        pending = await bus.consumerPending();
      }
      expect(pending).toBe(4);

      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let delivered!: () => void;
      const firstDelivery = new Promise<void>((resolve) => (delivered = resolve));
      bus.subscribe(async () => {
        delivered();
        await gate;
      });
      await firstDelivery;
      // Delivered but not yet handled (not acknowledged): still pending.
      expect(await bus.consumerPending()).toBe(4);
      release();
      await bus.drained();
      expect(await bus.consumerPending()).toBe(0);
      await bus.close();
    });

    it('when the handler throws, then the same events are delivered again later and none is lost', async () => {
      const bus = await f.make({ batchSize: 3 });
      const failed: UsageEvent[] = [];
      const handled: UsageEvent[] = [];
      let calls = 0;
      bus.subscribe(async (events) => {
        calls++;
        if (calls === 1) {
          failed.push(...events);
          throw new Error('store unavailable');
        }
        handled.push(...events);
      });
      for (const n of range(0, 7)) bus.publish(usageEvent(n));
      await bus.drained();

      expect(calls).toBeGreaterThan(1);
      expect(failed.length).toBeGreaterThan(0);
      // At least once: every event of the failed call came again, and every event was handled successfully.
      expect(ids(handled)).toEqual(expect.arrayContaining(ids(failed)));
      expect(new Set(ids(handled))).toEqual(new Set(range(0, 7).map((n) => `req-${n}`)));
      await bus.close();
    });

    it('when drained() resolves, then the handler has finished the events and its side effect is visible', async () => {
      // Why a one-minute delay: drained() must flush the pending batch itself, not wait for the timer.
      const bus = await f.make({ flushDelayMs: 60_000 });
      const stored: string[] = [];
      bus.subscribe(async (events) => {
        await nextMacrotask(); // the write is asynchronous, as a database write is
        stored.push(...ids(events));
      });
      for (const n of range(0, 5)) bus.publish(usageEvent(n));
      await bus.drained();

      expect(stored).toEqual(range(0, 5).map((n) => `req-${n}`));
      await bus.close();
    });

    it('when the handler fails once, then drained() resolves only after the redelivery succeeded', async () => {
      const bus = await f.make();
      const stored: string[] = [];
      let calls = 0;
      bus.subscribe(async (events) => {
        calls++;
        if (calls === 1) throw new Error('store unavailable');
        stored.push(...ids(events));
      });
      bus.publish(usageEvent(1));
      bus.publish(usageEvent(2));
      await bus.drained();

      expect(calls).toBeGreaterThanOrEqual(2);
      // Each exactly once; the order after a failure is not part of the contract (JetStream may
      // redeliver a failed event after a later one that succeeded).
      expect([...stored].sort()).toEqual(['req-1', 'req-2']);
      await bus.close();
    });

    it('when nothing is pending, then drained() resolves (at once without a handler) and calls no handler', async () => {
      const bus = await f.make();
      const race = () =>
        Promise.race([
          bus.drained().then(() => 'drained'),
          new Promise((resolve) => setImmediate(() => resolve('still pending'))),
        ]);
      expect(await race()).toBe('drained'); // no handler, nothing published

      let calls = 0;
      bus.subscribe(async () => {
        calls++;
      });
      // With a handler, a shared bus asks its consumer (a round trip): other processes may have published.
      await bus.drained();
      expect(calls).toBe(0);

      bus.publish(usageEvent(1));
      await bus.drained();
      expect(calls).toBe(1);
      await bus.drained(); // idle again after handling
      expect(calls).toBe(1);
      await bus.close();
    });

    it('when a full batch accumulates, then it is delivered without waiting for the flush delay', async () => {
      const bus = await f.make({ batchSize: 3, flushDelayMs: 60_000 });
      const batches: UsageEvent[][] = [];
      let delivered!: () => void;
      const firstDelivery = new Promise<void>((resolve) => (delivered = resolve));
      bus.subscribe(async (events) => {
        batches.push([...events]);
        delivered();
      });
      await nextMacrotask(); // let the subscription settle, so the events below meet an idle bus

      bus.publish(usageEvent(1));
      bus.publish(usageEvent(2));
      await nextMacrotask();
      expect(batches).toEqual([]); // a partial batch waits for the delay

      bus.publish(usageEvent(3));
      await firstDelivery; // would time out if the full batch waited for the one-minute delay
      expect(batches.map(ids)).toEqual([['req-1', 'req-2', 'req-3']]);
      await bus.close();
    });

    it('when an event carries a user, a cost and the partial flag, then the handler receives every field unchanged', async () => {
      const bus = await f.make();
      const handled: UsageEvent[] = [];
      bus.subscribe(async (events) => {
        handled.push(...events);
      });
      const charged: UsageEvent = {
        ...usageEvent(1),
        userId: 42,
        // Beyond 2^32, so a 32-bit truncation anywhere on the wire would show.
        costNano: 9_007_199_254_740,
        partial: true,
        cachedTokens: 3,
        reasoningTokens: 4,
      };
      bus.publish(charged);
      bus.publish(usageEvent(2));
      await bus.drained();

      expect(handled).toEqual([charged, usageEvent(2)]);
      await bus.close();
    });

    it('when close() is awaited with events pending, then they have all been handled first', async () => {
      const bus = await f.make({ flushDelayMs: 60_000 });
      const stored: string[] = [];
      bus.subscribe(async (events) => {
        await nextMacrotask();
        stored.push(...ids(events));
      });
      for (const n of range(0, 4)) bus.publish(usageEvent(n));
      await bus.close();

      expect(stored).toEqual(['req-0', 'req-1', 'req-2', 'req-3']);
    });
  });
}

describe('InProcessUsageBus', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('when a second handler subscribes, then it is refused (one consumer), and after unsubscribing it is accepted', async () => {
    const bus = new InProcessUsageBus();
    const unsubscribe = bus.subscribe(async () => {});
    expect(() => bus.subscribe(async () => {})).toThrow(/one consumer/);
    unsubscribe();
    const handled: string[] = [];
    bus.subscribe(async (events) => {
      handled.push(...ids(events));
    });
    bus.publish(usageEvent(1));
    await bus.drained();
    expect(handled).toEqual(['req-1']);
  });

  it('when events wait for a handler, then depth counts them, and it is 0 once they are handled', async () => {
    const bus = new InProcessUsageBus();
    bus.publish(usageEvent(1));
    bus.publish(usageEvent(2));
    expect(bus.depth).toBe(2);
    bus.subscribe(async () => {});
    await bus.drained();
    expect(bus.depth).toBe(0);
  });

  it('when the handler fails while new events arrive, then the retry still waits for the back-off', async () => {
    vi.useFakeTimers();
    // Back-off for the first failure: 2 × retryBaseMs = 2 s; the flush delay is far shorter on purpose.
    const bus = new InProcessUsageBus({ flushDelayMs: 10, retryBaseMs: 1000 });
    const handled: string[] = [];
    let calls = 0;
    bus.subscribe(async (events) => {
      calls++;
      if (calls === 1) {
        bus.publish(usageEvent(2)); // traffic keeps coming while the store is down
        throw new Error('store unavailable');
      }
      handled.push(...ids(events));
    });
    bus.publish(usageEvent(1));

    await vi.advanceTimersByTimeAsync(10);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1900);
    expect(calls).toBe(1); // a publish during the failed call must not cut the back-off short
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toBe(2);
    expect(handled).toEqual(['req-1', 'req-2']);
  });

  it('when the handler keeps failing, then the back-off doubles per failure', async () => {
    vi.useFakeTimers();
    const bus = new InProcessUsageBus({ retryBaseMs: 100 });
    const callTimes: number[] = [];
    bus.subscribe(async () => {
      callTimes.push(Date.now());
      if (callTimes.length < 4) throw new Error('store unavailable');
    });
    bus.publish(usageEvent(1));
    const drained = bus.drained();
    await vi.advanceTimersByTimeAsync(200 + 400 + 800);
    await drained;

    const gaps = callTimes.slice(1).map((t, i) => t - callTimes[i]!);
    expect(gaps).toEqual([200, 400, 800]);
  });
});
