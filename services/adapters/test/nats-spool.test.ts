import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { UsageEvent } from '@switchyard/core';
import { NatsUsageBus, type NatsUsageBusOptions } from '@switchyard/adapters';
import { deleteNatsStreams, natsTestNames, NATS_TEST_URL } from './nats-test-streams.js';
import { NatsTcpProxy } from './nats-tcp-proxy.js';
import { ids, usageEvent } from './usage-event-fixture.js';

const streams: string[] = [];
afterAll(() => deleteNatsStreams(streams));

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function names(): { stream: string; subject: string; durable: string } {
  const n = natsTestNames();
  streams.push(n.stream);
  return n;
}

function spoolDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-spool-'));
  dirs.push(dir);
  return dir;
}

const reqIds = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `req-${from + i}`);

/** Segment files in `dir`, oldest first. */
function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => /^spool-\d+\.jsonl$/.test(name))
    .sort();
}

/** Request ids of the complete lines in every segment of `dir`, in order. */
function spooledIds(dir: string): string[] {
  return segments(dir).flatMap((name) =>
    readFileSync(path.join(dir, name), 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as UsageEvent).requestId),
  );
}

/**
 * Options for a relay behind the test's proxy: it notices a cut within a fraction of a second, and
 * closing it while cut (a relay stopping during a NATS outage) gives up quickly.
 */
const relayOptions: Partial<NatsUsageBusOptions> = {
  // Why 500 ms: a publish into a cut connection fails fast enough for the test to see the outage.
  publishTimeoutMs: 500,
  // Why 100 ms: reconnect promptly after restore() instead of the production 2 s.
  connection: { reconnectTimeWait: 100 },
  // Why 300 ms: close() cannot drain while cut; the test only needs it to stop.
  closeTimeoutMs: 300,
};

/** An accounting instance on the real server that records every handled request id. */
async function accounting(shared: { stream: string; subject: string; durable: string }) {
  const bus = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...shared });
  const handled: string[] = [];
  bus.subscribe(async (events) => {
    handled.push(...ids(events));
  });
  return { bus, handled };
}

describe('NatsUsageBus with spoolDir', () => {
  it('when a relay stops while NATS is cut, then its events wait on disk and a new relay on the same spool delivers each exactly once', async () => {
    const shared = names();
    const dir = spoolDir();
    const proxy = await NatsTcpProxy.start(NATS_TEST_URL);
    try {
      const first = await NatsUsageBus.connect({
        servers: proxy.url,
        ...shared,
        ...relayOptions,
        spoolDir: dir,
      });
      for (let i = 0; i < 5; i++) first.publish(usageEvent(i));
      await first.drained();
      expect(first.spoolBytes).toBe(0); // acknowledged events left the spool

      proxy.cut();
      for (let i = 5; i < 25; i++) first.publish(usageEvent(i));
      // On disk when publish() returned, before any attempt to reach NATS could end.
      expect(spooledIds(dir)).toEqual(reqIds(5, 25));
      expect(first.spoolBytes).toBeGreaterThan(0);
      await first.close();
      expect(spooledIds(dir)).toEqual(reqIds(5, 25));

      proxy.restore();
      const acc = await accounting(shared);
      const second = await NatsUsageBus.connect({
        servers: proxy.url,
        ...shared,
        ...relayOptions,
        spoolDir: dir,
      });
      try {
        expect(second.pendingDepth).toBe(20); // re-queued from disk, not yet acknowledged
        await second.drained();
        await acc.bus.drained();

        expect(acc.handled).toHaveLength(25); // none twice
        expect(new Set(acc.handled)).toEqual(new Set(reqIds(0, 25)));
        expect(second.pendingDepth).toBe(0);
        expect(second.spoolBytes).toBe(0);
        expect(segments(dir)).toEqual([]);
      } finally {
        await Promise.all([second.close(), acc.bus.close()]);
      }
      expect(readdirSync(dir)).toEqual([]); // no segment, no lock left behind
    } finally {
      await proxy.close();
    }
  });

  it('when the last line of a segment is torn, then it is skipped and reported, and every complete line is delivered', async () => {
    const shared = names();
    const dir = spoolDir();
    const proxy = await NatsTcpProxy.start(NATS_TEST_URL);
    try {
      const first = await NatsUsageBus.connect({
        servers: proxy.url,
        ...shared,
        ...relayOptions,
        spoolDir: dir,
      });
      proxy.cut();
      for (let i = 0; i < 5; i++) first.publish(usageEvent(i));
      await first.close();
      const [segment] = segments(dir);
      expect(segment).toBeDefined();
      // A crash in the middle of an append.
      appendFileSync(path.join(dir, segment!), JSON.stringify(usageEvent(99)).slice(0, 40));

      proxy.restore();
      const errors: string[] = [];
      const second = await NatsUsageBus.connect({
        servers: proxy.url,
        ...shared,
        ...relayOptions,
        spoolDir: dir,
        onError: (err) => errors.push(err.message),
      });
      const acc = await accounting(shared);
      try {
        expect(errors.filter((m) => m.includes('torn last line'))).toHaveLength(1);
        await second.drained();
        await acc.bus.drained();

        expect([...acc.handled].sort()).toEqual(reqIds(0, 5));
        expect(segments(dir)).toEqual([]);
      } finally {
        await Promise.all([second.close(), acc.bus.close()]);
      }
    } finally {
      await proxy.close();
    }
  });

  it('when events fill several segments and are then acknowledged, then the segments are deleted and the spool does not grow', async () => {
    const shared = names();
    const dir = spoolDir();
    const proxy = await NatsTcpProxy.start(NATS_TEST_URL);
    const relay = await NatsUsageBus.connect({
      servers: proxy.url,
      ...shared,
      ...relayOptions,
      spoolDir: dir,
      spoolSegmentEvents: 10,
    });
    const acc = await accounting(shared);
    try {
      proxy.cut();
      for (let i = 0; i < 35; i++) relay.publish(usageEvent(i));
      expect(segments(dir)).toHaveLength(4); // 10 + 10 + 10 + 5
      expect(spooledIds(dir)).toEqual(reqIds(0, 35));

      proxy.restore();
      await relay.drained();
      // The sealed segments are gone; the one still written to is kept open, emptied.
      const left = segments(dir);
      expect(left.length).toBeLessThanOrEqual(1);
      for (const name of left) expect(statSync(path.join(dir, name)).size).toBe(0);
      expect(relay.spoolBytes).toBe(0);

      // Three more segments' worth with NATS up: acknowledged as they go, nothing accumulates.
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 10; i++) relay.publish(usageEvent(35 + round * 10 + i));
        await relay.drained();
        expect(segments(dir).length).toBeLessThanOrEqual(1);
        expect(relay.spoolBytes).toBe(0);
      }
      await acc.bus.drained();
      expect(acc.handled).toHaveLength(65);
      expect(new Set(acc.handled)).toEqual(new Set(reqIds(0, 65)));
    } finally {
      await Promise.all([relay.close(), acc.bus.close()]);
      await proxy.close();
    }
    expect(segments(dir)).toEqual([]);
  });

  it('when spooled events from a previous run fill maxPending, then new events are refused and reported, and the accepted ones arrive', async () => {
    const shared = names();
    const dir = spoolDir();
    const proxy = await NatsTcpProxy.start(NATS_TEST_URL);
    try {
      const first = await NatsUsageBus.connect({
        servers: proxy.url,
        ...shared,
        ...relayOptions,
        spoolDir: dir,
        maxPending: 5,
      });
      proxy.cut();
      for (let i = 0; i < 3; i++) first.publish(usageEvent(i));
      await first.close();
      expect(spooledIds(dir)).toEqual(reqIds(0, 3));

      proxy.restore();
      const dropped: string[] = [];
      const errors: string[] = [];
      const acc = await accounting(shared);
      const second = await NatsUsageBus.connect({
        servers: proxy.url,
        ...shared,
        ...relayOptions,
        spoolDir: dir,
        maxPending: 5,
        onDropped: (event) => dropped.push(event.requestId),
        onError: (err) => errors.push(err.message),
      });
      try {
        // Synchronously after connect: the re-published events cannot have been acknowledged yet.
        for (let i = 3; i < 7; i++) second.publish(usageEvent(i));
        expect(second.pendingDepth).toBe(5);
        expect(dropped).toEqual(['req-5', 'req-6']);
        expect(errors.filter((m) => m.includes('maxPending'))).toHaveLength(2);
        expect(second.droppedTotal).toBe(2);

        await second.drained();
        await acc.bus.drained();
        expect([...acc.handled].sort()).toEqual(reqIds(0, 5));
        expect(segments(dir).every((name) => statSync(path.join(dir, name)).size === 0)).toBe(true);
      } finally {
        await Promise.all([second.close(), acc.bus.close()]);
      }
    } finally {
      await proxy.close();
    }
  });

  it('when a second bus opens a spool directory already in use, then it is refused', async () => {
    const shared = names();
    const dir = spoolDir();
    const bus = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...shared, spoolDir: dir });
    try {
      await expect(
        NatsUsageBus.connect({ servers: NATS_TEST_URL, ...shared, spoolDir: dir }),
      ).rejects.toThrow(/already open/);
    } finally {
      await bus.close();
    }
  });
});
