import type { Kysely } from 'kysely';
import { connect } from 'nats';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NatsUsageBus } from '@switchyard/adapters';
import { type DB, migrateToLatest, type UsageBus, type UsageEvent } from '@switchyard/core';
import { Accounting } from '@switchyard/accounting';
import { DIALECTS } from '../../adapters/test/dialects.js';
import { deleteNatsStreams, natsTestNames, NATS_TEST_URL } from '../../adapters/test/nats-test-streams.js';
import { chargedEvent, insertKey, insertUser, keyBalance, userBalance } from './ledger-fixtures.js';

const streams: string[] = [];
afterAll(() => deleteNatsStreams(streams));

/**
 * Hands every delivery to accounting's handler and then, for the first `failures` deliveries, throws:
 * the write has committed but the message is not acknowledged, as when a replica dies between its
 * commit and its ack. JetStream then redelivers the same message.
 */
class AckLosingBus implements UsageBus {
  readonly #inner: UsageBus;
  #failuresLeft: number;
  /** Every event the handler was given, redeliveries included. */
  readonly deliveries: UsageEvent[] = [];

  constructor(inner: UsageBus, failures: number) {
    this.#inner = inner;
    this.#failuresLeft = failures;
  }
  publish(event: UsageEvent): void {
    this.#inner.publish(event);
  }
  subscribe(handler: (events: UsageEvent[]) => Promise<void>): () => void {
    return this.#inner.subscribe(async (events) => {
      this.deliveries.push(...events);
      await handler(events);
      if (this.#failuresLeft > 0) {
        this.#failuresLeft--;
        throw new Error('acknowledgement lost after the write committed');
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

for (const dialect of DIALECTS) {
  describe(`usage redelivered by NATS JetStream, settled on ${dialect.name}`, () => {
    let db: Kysely<DB>;
    let dispose: () => Promise<void>;
    let names: ReturnType<typeof natsTestNames>;
    let consumer: NatsUsageBus;
    let relay: NatsUsageBus;
    let user: number;
    let key: number;

    beforeEach(async () => {
      ({ db, dispose } = await dialect.open());
      await migrateToLatest(db);
      user = await insertUser(db, 1);
      key = await insertKey(db, 1, user);
      names = natsTestNames();
      streams.push(names.stream);
      // Why nakDelayMs 50: the redeliveries arrive within the test's patience, not after the production 1 s.
      consumer = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...names, nakDelayMs: 50 });
      relay = await NatsUsageBus.connect({ servers: NATS_TEST_URL, ...names });
    });
    afterEach(async () => {
      await relay.close();
      await consumer.close();
      await dispose();
    });

    async function ledger(requestId: string): Promise<number> {
      const r = await db
        .selectFrom('usage_logs')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('request_id', '=', requestId)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    }

    it('when the handler fails after its write commits on the first two deliveries, then JetStream delivers the event three times and it is charged once', async () => {
      const bus = new AckLosingBus(consumer, 2);
      const accounting = new Accounting({
        db,
        bus,
        logger: pino({ level: 'silent' }),
        registry: new Registry(),
      });
      accounting.start();
      const event = chargedEvent('req-thrice', key, user, 1_234_567, { createdAt: 1_800_000_000_123 });
      relay.publish(event);
      await relay.drained();
      await consumer.drained();

      expect(bus.deliveries).toEqual([event, event, event]);
      expect(await ledger('req-thrice')).toBe(1);
      expect(await keyBalance(db, key)).toEqual({ used_nano: 1_234_567, last_used_at: 1_800_000_000_123 });
      expect(await userBalance(db, user)).toEqual({ used_nano: 1_234_567, last_used_at: 1_800_000_000_123 });
      await accounting.close();
    });

    it('when the same request id is published three times as distinct messages (past the duplicate window), then it is charged once', async () => {
      const bus = new AckLosingBus(consumer, 0);
      const accounting = new Accounting({
        db,
        bus,
        logger: pino({ level: 'silent' }),
        registry: new Registry(),
      });
      accounting.start();
      const event = chargedEvent('req-resent', key, user, 999);
      // Distinct message ids: JetStream's de-duplication cannot drop them, as after its 2-minute window.
      const nc = await connect({ servers: NATS_TEST_URL });
      try {
        const js = nc.jetstream();
        for (const attempt of [1, 2, 3]) {
          await js.publish(names.subject, new TextEncoder().encode(JSON.stringify(event)), {
            msgID: `${event.requestId}#${attempt}`,
          });
        }
      } finally {
        await nc.close();
      }
      await consumer.drained();

      expect(bus.deliveries).toEqual([event, event, event]);
      expect(await ledger('req-resent')).toBe(1);
      expect(await keyBalance(db, key)).toEqual({ used_nano: 999, last_used_at: event.createdAt });
      expect(await userBalance(db, user)).toEqual({ used_nano: 999, last_used_at: event.createdAt });
      await accounting.close();
    });
  });
}
