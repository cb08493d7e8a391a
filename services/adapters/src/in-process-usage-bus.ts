import type { UsageBus, UsageEvent } from '@switchyard/core';

/**
 * The embedded usage bus: an in-memory queue drained in batches on the next tick by the one
 * subscribed handler. A handler failure keeps the batch queued and retries it with back-off, so an
 * unavailable store delays usage but never drops it.
 */
export class InProcessUsageBus implements UsageBus {
  readonly #queue: UsageEvent[] = [];
  #handler: ((events: UsageEvent[]) => Promise<void>) | null = null;
  #scheduled = false;
  #running = false;
  #failures = 0;
  #waiters: Array<() => void> = [];
  #closed = false;
  /** Why 500: one SQL round trip per batch keeps write cost flat under load without huge statements. */
  readonly #batchSize: number;

  constructor(opts: { batchSize?: number } = {}) {
    this.#batchSize = opts.batchSize ?? 500;
  }

  publish(event: UsageEvent): void {
    this.#queue.push(event);
    this.#schedule(0);
  }

  subscribe(handler: (events: UsageEvent[]) => Promise<void>): () => void {
    if (this.#handler) throw new Error('InProcessUsageBus supports one consumer');
    this.#handler = handler;
    this.#schedule(0);
    return () => {
      if (this.#handler === handler) this.#handler = null;
    };
  }

  /** Number of events not yet handled. */
  get depth(): number {
    return this.#queue.length;
  }

  drained(): Promise<void> {
    if (this.#queue.length === 0 && !this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.#handler && this.#queue.length > 0) {
      await this.drained();
    }
    this.#closed = true;
  }

  #schedule(delayMs: number): void {
    if (this.#scheduled || this.#closed || !this.#handler) return;
    this.#scheduled = true;
    const run = () => {
      this.#scheduled = false;
      void this.#drain();
    };
    if (delayMs === 0) setImmediate(run);
    else setTimeout(run, delayMs).unref();
  }

  async #drain(): Promise<void> {
    if (this.#running || !this.#handler) return;
    this.#running = true;
    try {
      while (this.#queue.length > 0 && this.#handler) {
        const batch = this.#queue.slice(0, this.#batchSize);
        try {
          await this.#handler(batch);
          this.#queue.splice(0, batch.length);
          this.#failures = 0;
        } catch {
          this.#failures++;
          // Why capped at 30 s: back off from a failing store without leaving usage waiting for long.
          this.#running = false;
          this.#schedule(Math.min(30_000, 100 * 2 ** Math.min(this.#failures, 9)));
          return;
        }
      }
    } finally {
      this.#running = false;
    }
    if (this.#queue.length === 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w();
    }
  }
}
