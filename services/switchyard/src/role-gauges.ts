import { Gauge, type Registry } from 'prom-client';
import type { ConfigSource } from '@switchyard/core';

/**
 * Gauges of the config snapshot a relay serves from: its version and the seconds since this
 * process received it. A quiet configuration is not stale: the age grows until the next change or
 * reconnect, so alert on it together with `switchyard_config_stream_up` where that matters.
 * Returns the unsubscribe function of the snapshot listener.
 */
export function registerSnapshotGauges(registry: Registry, source: ConfigSource): () => void {
  const registers = [registry];
  let receivedAt = Date.now();
  const unsubscribe = source.subscribe(() => {
    receivedAt = Date.now();
  });
  new Gauge({
    name: 'switchyard_config_snapshot_version',
    help: 'Version of the config snapshot this relay serves from.',
    registers,
    collect() {
      this.set(source.current().version);
    },
  });
  new Gauge({
    name: 'switchyard_config_snapshot_age_seconds',
    help: 'Seconds since this relay received the config snapshot it serves from.',
    registers,
    collect() {
      this.set((Date.now() - receivedAt) / 1000);
    },
  });
  return unsubscribe;
}

/**
 * `switchyard_usage_consumer_pending`: usage events accounting has not yet written and acknowledged
 * (JetStream's num_pending + num_ack_pending, or the in-process queue). When the bus does not
 * answer, the scrape keeps the last value rather than failing.
 */
export function registerUsageConsumerGauge(
  registry: Registry,
  bus: { consumerPending(): Promise<number> },
): void {
  new Gauge({
    name: 'switchyard_usage_consumer_pending',
    help: 'Usage events accounting has not yet written and acknowledged: the consumer lag.',
    registers: [registry],
    async collect() {
      const pending = await bus.consumerPending().catch(() => null);
      if (pending !== null) this.set(pending);
    },
  });
}
