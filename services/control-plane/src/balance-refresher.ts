import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '@switchyard/core';

/** Why 10 s: after the coordination store lost its state, at most this much spend is re-admitted. */
export const DEFAULT_BALANCE_REFRESH_INTERVAL_MS = 10_000;

export interface BalanceRefresherOptions {
  db: Kysely<DB>;
  logger: Logger;
  /** Rebuilds and publishes the config snapshot (which carries every key's and user's settled spend). */
  publish: () => Promise<void>;
  /** Between two looks at the ledger; 0 turns the timer off (checkNow() still works). */
  intervalMs: number;
}

/**
 * Keeps the spend in the relays' snapshot close to the ledger. Relays decide quotas from the spend in
 * the coordination store; the snapshot's spend only seeds it when the store has none for a key or user
 * (Redis restarted or lost its keys, or a relay fell back to its own memory). Accounting writes the
 * ledger without telling the control plane, so this looks at the ledger's newest row every interval
 * and publishes a new snapshot when rows were added since the last look: a store that loses its state
 * restarts from spend at most one interval (plus the usage bus's lag) old, instead of from whenever an
 * admin last changed something.
 */
export class BalanceRefresher {
  readonly #opts: BalanceRefresherOptions;
  #timer: NodeJS.Timeout | null = null;
  #check: Promise<boolean> | null = null;
  /** The newest usage row id at the last publish (or the first look); null before the first look. */
  #seen: number | null = null;

  constructor(opts: BalanceRefresherOptions) {
    this.#opts = opts;
  }

  /** Takes the first look (no publish) and starts the timer unless intervalMs is 0. */
  async start(): Promise<void> {
    this.#seen = await this.#newestRow();
    if (this.#opts.intervalMs <= 0 || this.#timer !== null) return;
    this.#timer = setInterval(() => {
      void this.checkNow().catch((err: unknown) => {
        this.#opts.logger.warn({ err }, 'balance refresh failed; the next interval tries again');
      });
    }, this.#opts.intervalMs);
    // Background work: it never keeps the process alive on its own.
    this.#timer.unref();
  }

  /**
   * The newest usage row whose spend the published snapshot includes (0: an empty ledger; null before
   * start()): how far behind the ledger the relays' seeds are.
   */
  get ledgerRow(): number | null {
    return this.#seen;
  }

  /** Publishes when the ledger has new rows since the last look; resolves true when it published. */
  checkNow(): Promise<boolean> {
    this.#check ??= this.#run().finally(() => {
      this.#check = null;
    });
    return this.#check;
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#check?.catch(() => undefined);
  }

  async #run(): Promise<boolean> {
    const newest = await this.#newestRow();
    if (newest === this.#seen) return false;
    await this.#opts.publish();
    this.#seen = newest;
    return true;
  }

  /** The largest usage row id (0 for an empty ledger): one index lookup. */
  async #newestRow(): Promise<number> {
    const row = await this.#opts.db
      .selectFrom('usage_logs')
      .select(sql<number | string | null>`max(id)`.as('newest'))
      .executeTakeFirst();
    return Number(row?.newest ?? 0);
  }
}
