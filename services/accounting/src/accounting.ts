import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { DB, UsageBus } from '@switchyard/core';
import { UsageWriter } from './usage-writer.js';

/**
 * Why 20: enough request ids in a failed batch's error line to find those requests' relay lines, while
 * a batch of hundreds still makes one short line.
 */
const FAILED_BATCH_IDS = 20;

export interface AccountingOptions {
  db: Kysely<DB>;
  bus: UsageBus;
  logger: Logger;
  registry: Registry;
}

/**
 * The accounting role: consumes usage events and writes the ledger. Logs one `usage recorded` line per
 * event at debug level (SWITCHYARD_LOG_LEVEL=debug): at a thousand requests a second an info line per
 * event would double the log volume the relays already write, and the ledger row is the record.
 */
export class Accounting {
  readonly #bus: UsageBus;
  readonly #writer: UsageWriter;
  readonly #logger: Logger;
  readonly #written: Counter;
  readonly #failures: Counter;
  readonly #writeSeconds: Histogram;
  #unsubscribe: (() => void) | null = null;

  constructor(opts: AccountingOptions) {
    this.#bus = opts.bus;
    this.#writer = new UsageWriter(opts.db);
    this.#logger = opts.logger;
    const registers = [opts.registry];
    this.#written = new Counter({
      name: 'switchyard_usage_rows_written_total',
      help: 'Usage rows written to the ledger (duplicates excluded).',
      registers,
    });
    this.#failures = new Counter({
      name: 'switchyard_usage_write_failures_total',
      help: 'Usage batches whose write failed and will be redelivered.',
      registers,
    });
    this.#writeSeconds = new Histogram({
      name: 'switchyard_usage_write_duration_seconds',
      help: 'Time to write one batch of usage rows.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
  }

  start(): void {
    this.#unsubscribe = this.#bus.subscribe(async (events) => {
      const t0 = performance.now();
      try {
        const n = await this.#writer.write(events);
        this.#written.inc(n);
        this.#writeSeconds.observe((performance.now() - t0) / 1000);
        if (this.#logger.isLevelEnabled('debug')) {
          for (const e of events) {
            this.#logger.debug(
              {
                request_id: e.requestId,
                client_request_id: e.clientRequestId ?? undefined,
                key_id: e.keyId,
                model: e.model,
                status: e.status,
                total_tokens: e.totalTokens,
                cost_nano: e.costNano,
              },
              'usage recorded',
            );
          }
        }
      } catch (err) {
        this.#failures.inc();
        this.#logger.error(
          {
            err,
            batch: events.length,
            // Bounded: the first ones name the batch; the rest are in the relays' lines and will be redelivered.
            request_ids: events.slice(0, FAILED_BATCH_IDS).map((e) => e.requestId),
          },
          'usage write failed; the batch will be retried',
        );
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.#bus.drained();
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }
}
