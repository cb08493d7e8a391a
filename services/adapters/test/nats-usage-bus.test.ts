import { afterAll, describe, expect, it } from 'vitest';
import { connect } from 'nats';
import { NatsUsageBus, type NatsUsageBusOptions } from '@switchyard/adapters';
import { deleteNatsStreams, natsTestNames, NATS_TEST_URL } from './nats-test-streams.js';
import { NatsTcpProxy } from './nats-tcp-proxy.js';
import { ids, usageEvent } from './usage-event-fixture.js';

const streams: string[] = [];
afterAll(() => deleteNatsStreams(streams));

/** Names for one test: every bus of the test shares them, no other test does. */
function names(): { stream: string; subject: string; durable: string } {
  const n = natsTestNames();
  streams.push(n.stream);
  return n;
}

const reqIds = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `req-${from + i}`);

/** Options for a bus behind the test's proxy: it notices a cut and a restore within a fraction of a second. */
const outageOptions: Partial<NatsUsageBusOptions> = {
  // Why 500 ms: a publish into a cut connection fails fast enough for the test to see the outage.
  publishTimeoutMs: 500,
  // Why 100 ms: reconnect promptly after restore() instead of the production 2 s.
  connection: { reconnectTimeWait: 100 },
};

function nextState(states: Array<'up' | 'down'>, wanted: 'up' | 'down'): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (states.includes(wanted) ? resolve() : setTimeout(check, 10));
    check();
  });
}

describe('NatsUsageBus', () => {
  it('when the same request id is published twice within the duplicate window, then the handler sees it once', async () => {
    const bus = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...names() });
    try {
      const handled: string[] = [];
      bus.subscribe(async (events) => {
        handled.push(...ids(events));
      });
      bus.publish(usageEvent(1));
      bus.publish(usageEvent(1)); // a retry in the same burst
      bus.publish(usageEvent(2));
      await bus.drained();
      bus.publish(usageEvent(1)); // a retry after the first was acknowledged
      await bus.drained();

      expect(handled).toEqual(['req-1', 'req-2']);
    } finally {
      await bus.close();
    }
  });

  it('when two accounting instances share the durable, then every event of a third (relay) instance is handled exactly once across both', async () => {
    const shared = names();
    const relay = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...shared });
    const a = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...shared, batchSize: 10 });
    const b = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...shared, batchSize: 10 });
    try {
      const byA: string[] = [];
      const byB: string[] = [];
      // The write is asynchronous, as a database write is, so the other instance gets work meanwhile.
      a.subscribe(async (events) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        byA.push(...ids(events));
      });
      b.subscribe(async (events) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        byB.push(...ids(events));
      });
      for (let n = 0; n < 300; n++) relay.publish(usageEvent(n));
      await relay.drained();
      await Promise.all([a.drained(), b.drained()]);

      const all = [...byA, ...byB];
      expect(all).toHaveLength(300);
      expect(new Set(all)).toEqual(new Set(reqIds(0, 300)));
      expect(byA.length).toBeGreaterThan(0);
      expect(byB.length).toBeGreaterThan(0);
    } finally {
      await Promise.all([relay.close(), a.close(), b.close()]);
    }
  });

  it('when the handler fails, then the events are redelivered and finally acknowledged once', async () => {
    const n = names();
    const bus = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...n, nakDelayMs: 50 });
    const nc = await connect({ servers: NATS_TEST_URL });
    try {
      let calls = 0;
      const handled: string[] = [];
      bus.subscribe(async (events) => {
        calls++;
        if (calls <= 2) throw new Error('store unavailable');
        handled.push(...ids(events));
      });
      for (let i = 0; i < 3; i++) bus.publish(usageEvent(i));
      await bus.drained();

      expect(calls).toBeGreaterThanOrEqual(3);
      expect([...handled].sort()).toEqual(reqIds(0, 3));
      const info = await (await nc.jetstreamManager()).consumers.info(n.stream, n.durable);
      expect(info.num_ack_pending).toBe(0);
      expect(info.num_pending).toBe(0);
      expect(info.ack_floor.stream_seq).toBe(3); // all three acknowledged
      expect(info.num_redelivered).toBe(0); // nothing waits for another delivery
    } finally {
      await bus.close();
      await nc.close();
    }
  });

  it('when NATS is unreachable, then publish() returns at once, the queue grows, and after NATS returns every event arrives once', async () => {
    const shared = names();
    const proxy = await NatsTcpProxy.start(NATS_TEST_URL);
    const states: Array<'up' | 'down'> = [];
    const relay = await NatsUsageBus.connect({
      servers: proxy.url,
      ...shared,
      ...outageOptions,
      onStateChange: (s) => states.push(s),
    });
    const accounting = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...shared });
    try {
      const handled: string[] = [];
      accounting.subscribe(async (events) => {
        handled.push(...ids(events));
      });
      for (let i = 0; i < 5; i++) relay.publish(usageEvent(i));
      await relay.drained();

      proxy.cut();
      const started = performance.now();
      for (let i = 5; i < 25; i++) relay.publish(usageEvent(i));
      // Why 50 ms: 20 calls to an in-memory queue take microseconds; any network wait would take longer.
      expect(performance.now() - started).toBeLessThan(50);
      expect(relay.pendingDepth).toBe(20);
      await nextState(states, 'down');
      expect(relay.pendingDepth).toBe(20); // nothing can be acknowledged while cut
      expect(relay.connected).toBe(false);

      proxy.restore();
      await relay.drained();
      await accounting.drained();

      expect(relay.pendingDepth).toBe(0);
      expect(relay.connected).toBe(true);
      expect(states).toEqual(['down', 'up']);
      expect(handled).toHaveLength(25); // none twice, though timed-out publishes were sent again
      expect(new Set(handled)).toEqual(new Set(reqIds(0, 25)));
    } finally {
      await Promise.all([relay.close(), accounting.close()]);
      await proxy.close();
    }
  });

  it('when stream replicas are set, then the stream is created with them, and more than this single server holds is refused by NATS', async () => {
    const one = names();
    const bus = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...one, streamReplicas: 1 });
    const nc = await connect({ servers: NATS_TEST_URL });
    try {
      expect((await (await nc.jetstreamManager()).streams.info(one.stream)).config.num_replicas).toBe(1);
    } finally {
      await bus.close();
      await nc.close();
    }
    // The machine's NATS is one server, not a cluster: three copies cannot be placed.
    await expect(
      NatsUsageBus.connect({ servers: NATS_TEST_URL, ...names(), streamReplicas: 3 }),
    ).rejects.toThrow(/replicas/i);
  });

  it('when maxPending events wait, then a new one is refused and reported, and every accepted one still arrives', async () => {
    const shared = names();
    const proxy = await NatsTcpProxy.start(NATS_TEST_URL);
    const dropped: string[] = [];
    const errors: string[] = [];
    const relay = await NatsUsageBus.connect({
      servers: proxy.url,
      ...shared,
      ...outageOptions,
      maxPending: 5,
      onDropped: (event) => dropped.push(event.requestId),
      onError: (err) => errors.push(err.message),
    });
    const accounting = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...shared });
    try {
      const handled: string[] = [];
      accounting.subscribe(async (events) => {
        handled.push(...ids(events));
      });
      proxy.cut();
      for (let i = 0; i < 8; i++) relay.publish(usageEvent(i));

      expect(relay.pendingDepth).toBe(5);
      expect(dropped).toEqual(['req-5', 'req-6', 'req-7']); // the newest are refused, the oldest kept
      expect(relay.droppedTotal).toBe(3);
      expect(errors.filter((m) => m.includes('maxPending'))).toHaveLength(3);

      proxy.restore();
      await relay.drained();
      await accounting.drained();
      expect(handled).toEqual(reqIds(0, 5));
    } finally {
      await Promise.all([relay.close(), accounting.close()]);
      await proxy.close();
    }
  });

  it('when events wait for accounting, then consumerPending() counts them, before the consumer exists and while it is stopped, and is 0 once they are written', async () => {
    const shared = names();
    const relay = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...shared });
    let accounting: NatsUsageBus | null = null;
    /** Resolves once the relay's events are in the stream (publish() only queues them). */
    const published = () =>
      new Promise<void>((resolve) => {
        const check = () => (relay.pendingDepth === 0 ? resolve() : setTimeout(check, 10));
        check();
      });
    try {
      for (let i = 0; i < 7; i++) relay.publish(usageEvent(i));
      await published();
      // No accounting instance has subscribed yet: the durable does not exist, the stream holds 7.
      expect(await relay.consumerPending()).toBe(7);
      accounting = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...shared });
      expect(await accounting.consumerPending()).toBe(7);

      const handled: string[] = [];
      accounting.subscribe(async (events) => {
        handled.push(...ids(events));
      });
      await accounting.drained();
      expect(handled).toHaveLength(7);
      expect(await relay.consumerPending()).toBe(0);

      // Accounting stopped: the durable remains and counts what arrives meanwhile.
      await accounting.close();
      for (let i = 7; i < 10; i++) relay.publish(usageEvent(i));
      await published();
      expect(await relay.consumerPending()).toBe(3);

      accounting = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...shared });
      accounting.subscribe(async (events) => {
        handled.push(...ids(events));
      });
      await accounting.drained();
      expect(new Set(handled)).toEqual(new Set(reqIds(0, 10)));
      expect(await accounting.consumerPending()).toBe(0);
    } finally {
      await Promise.all([relay.close(), accounting?.close()]);
    }
  });
});

describe('NatsUsageBus.drained() on a consumer that publishes nothing itself', () => {
  it('when accounting connected while the stream was empty and a relay then publishes, then drained() waits until the events are handled', async () => {
    const shared = names();
    // Accounting's deliveries go through a proxy the test holds shut: only the consumer knows of the work.
    const proxy = await NatsTcpProxy.start(NATS_TEST_URL);
    const accounting = await NatsUsageBus.connect({ servers: proxy.url, ...shared, ...outageOptions });
    const relay = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...shared });
    try {
      const handled: string[] = [];
      accounting.subscribe(async (events) => {
        handled.push(...ids(events));
      });
      // Idle before anything was published: drained() has nothing to wait for.
      await accounting.drained();
      expect(handled).toEqual([]);

      proxy.cut();
      for (let n = 0; n < 5; n++) relay.publish(usageEvent(n));
      await relay.drained();
      const drained = accounting.drained();
      proxy.restore();
      await drained;
      expect(new Set(handled)).toEqual(new Set(reqIds(0, 5)));
    } finally {
      await Promise.all([relay.close(), accounting.close()]);
      await proxy.close();
    }
  });
});
