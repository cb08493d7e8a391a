import { Writable } from 'node:stream';
import { Kysely } from 'kysely';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNodeSqliteDialect, InProcessUsageBus } from '@switchyard/adapters';
import { type DB, migrateToLatest, type UsageBus, type UsageEvent } from '@switchyard/core';
import { Accounting } from '@switchyard/accounting';

function usageEvent(n: number): UsageEvent {
  return {
    requestId: `req-${n}`,
    clientRequestId: `client-${n}`,
    keyId: 1,
    userId: null,
    channelId: 2,
    accountId: 3,
    model: 'gpt-4o',
    upstreamModel: 'gpt-4o',
    promptTokens: n,
    completionTokens: 2,
    totalTokens: n + 2,
    cachedTokens: 0,
    reasoningTokens: 0,
    costNano: 0,
    partial: false,
    status: 'ok',
    httpStatus: 200,
    latencyMs: 50,
    stream: n % 2 === 0,
    error: null,
    createdAt: 1_800_000_000_000 + n,
  };
}

/** Passes everything to a real bus and lets the test react when the consumer's handler fails. */
class ObservedUsageBus implements UsageBus {
  readonly #inner: UsageBus;
  readonly #onHandlerError: (err: unknown) => Promise<void>;
  constructor(inner: UsageBus, onHandlerError: (err: unknown) => Promise<void>) {
    this.#inner = inner;
    this.#onHandlerError = onHandlerError;
  }
  publish(event: UsageEvent): void {
    this.#inner.publish(event);
  }
  subscribe(handler: (events: UsageEvent[]) => Promise<void>): () => void {
    return this.#inner.subscribe(async (events) => {
      try {
        await handler(events);
      } catch (err) {
        await this.#onHandlerError(err);
        throw err;
      }
    });
  }
  drained(): Promise<void> {
    return this.#inner.drained();
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

async function counterValue(registry: Registry, name: string): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}

describe('Accounting with the in-process bus on SQLite', () => {
  let db: Kysely<DB>;
  let registry: Registry;
  const logger = pino({ level: 'silent' });

  beforeEach(async () => {
    db = new Kysely<DB>({ dialect: createNodeSqliteDialect(':memory:') });
    await migrateToLatest(db);
    registry = new Registry();
  });
  afterEach(async () => {
    await db.destroy();
  });

  const requestIds = async () =>
    (await db.selectFrom('usage_logs').select('request_id').orderBy('id').execute()).map((r) => r.request_id);

  it('when events are published and the bus drains, then each distinct request is one row and the counter says so', async () => {
    // Why batchSize 2: duplicates then fall into different batches as well as the same one.
    const bus = new InProcessUsageBus({ batchSize: 2, retryBaseMs: 1 });
    const accounting = new Accounting({ db, bus, logger, registry });
    accounting.start();

    for (const n of [1, 2, 3, 3, 4, 1]) bus.publish(usageEvent(n));
    await bus.drained();
    expect(await requestIds()).toEqual(['req-1', 'req-2', 'req-3', 'req-4']);
    expect(await counterValue(registry, 'switchyard_usage_rows_written_total')).toBe(4);

    // A redelivery of already written events adds neither rows nor counts.
    for (const n of [2, 4, 5]) bus.publish(usageEvent(n));
    await bus.drained();
    expect(await requestIds()).toEqual(['req-1', 'req-2', 'req-3', 'req-4', 'req-5']);
    expect(await counterValue(registry, 'switchyard_usage_rows_written_total')).toBe(5);
    expect(await counterValue(registry, 'switchyard_usage_write_failures_total')).toBe(0);

    const row = await db
      .selectFrom('usage_logs')
      .select(['client_request_id', 'stream'])
      .where('request_id', '=', 'req-4')
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ client_request_id: 'client-4', stream: 1 });
    await accounting.close();
  });

  it('when the database write fails, then the batch is retried and written exactly once', async () => {
    const errors: unknown[] = [];
    const bus = new ObservedUsageBus(new InProcessUsageBus({ retryBaseMs: 1 }), async (err) => {
      errors.push(err);
      // The store comes back after the first failed write.
      if (errors.length === 1)
        await db.schema.alterTable('usage_logs_offline').renameTo('usage_logs').execute();
    });
    const accounting = new Accounting({ db, bus, logger, registry });
    accounting.start();

    await db.schema.alterTable('usage_logs').renameTo('usage_logs_offline').execute();
    for (const n of [1, 2, 3]) bus.publish(usageEvent(n));
    await bus.drained();

    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/no such table/);
    expect(await requestIds()).toEqual(['req-1', 'req-2', 'req-3']);
    expect(await counterValue(registry, 'switchyard_usage_write_failures_total')).toBe(1);
    expect(await counterValue(registry, 'switchyard_usage_rows_written_total')).toBe(3);
    await accounting.close();
  });

  it('when accounting closes with events pending, then they are written first and the bus takes a new consumer', async () => {
    // Why a one-minute delay: only close() itself can be what flushes these events.
    const bus = new InProcessUsageBus({ flushDelayMs: 60_000 });
    const accounting = new Accounting({ db, bus, logger, registry });
    accounting.start();
    for (const n of [1, 2]) bus.publish(usageEvent(n));

    await accounting.close();
    expect(await requestIds()).toEqual(['req-1', 'req-2']);
    // The in-process bus accepts one consumer: subscribing again works only if accounting unsubscribed.
    expect(() => bus.subscribe(async () => {})).not.toThrow();
  });

  it('when a write succeeds, then its duration is observed once per batch', async () => {
    const bus = new InProcessUsageBus({ batchSize: 2 });
    const accounting = new Accounting({ db, bus, logger, registry });
    accounting.start();
    for (const n of [1, 2, 3, 4]) bus.publish(usageEvent(n));
    await bus.drained();

    const text = await registry.getSingleMetricAsString('switchyard_usage_write_duration_seconds');
    expect(text).toMatch(/^switchyard_usage_write_duration_seconds_count 2$/m);
    await accounting.close();
  });

  it('when a batch fails and is retried, then the error line names its first 20 request ids, and at debug each written event is one line with its ids', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n').filter(Boolean))
          lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    let failures = 0;
    const bus = new ObservedUsageBus(new InProcessUsageBus({ batchSize: 25, retryBaseMs: 1 }), async () => {
      if (++failures === 1) await db.schema.alterTable('usage_logs_offline').renameTo('usage_logs').execute();
    });
    const accounting = new Accounting({ db, bus, logger: pino({ level: 'debug' }, sink), registry });
    accounting.start();
    await db.schema.alterTable('usage_logs').renameTo('usage_logs_offline').execute();
    for (let n = 0; n < 25; n++) bus.publish(usageEvent(n));
    await bus.drained();

    const failed = lines.filter((l) => l.msg === 'usage write failed; the batch will be retried');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ batch: 25 });
    expect(failed[0]!.request_ids).toEqual(Array.from({ length: 20 }, (_, n) => `req-${n}`));
    const recorded = lines.filter((l) => l.msg === 'usage recorded');
    expect(recorded).toHaveLength(25);
    expect(recorded[3]).toMatchObject({ level: 20, request_id: 'req-3', client_request_id: 'client-3' });
    await accounting.close();
  });
});
