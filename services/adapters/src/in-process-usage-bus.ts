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
  /**
   * Why 25 ms: one transaction per 25 ms instead of one per request turns per-request commit cost
   * into a per-batch cost (the gateway's CPU goes to relaying), while usage still lands promptly.
   */
  readonly #flushDelayMs: number;
  /** The n-th consecutive failure is retried after `retryBaseMs × 2^n` (n ≤ 9), capped at 30 s. */
  readonly #retryBaseMs: number;

  constructor(opts: { batchSize?: number; flushDelayMs?: number; retryBaseMs?: number } = {}) {
    this.#batchSize = opts.batchSize ?? 500;
    this.#flushDelayMs = opts.flushDelayMs ?? 25;
    this.#retryBaseMs = opts.retryBaseMs ?? 100;
  }

  publish(event: UsageEvent): void {
    this.#queue.push(event);
    this.#schedule(this.#queue.length >= this.#batchSize ? 0 : this.#flushDelayMs);
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

  /** What the consumer has still to handle: `depth`, with the NATS bus's signature. */
  consumerPending(): Promise<number> {
    return Promise.resolve(this.#queue.length);
  }

  /** Resolves once the queue is empty; a waiter makes a pending delayed flush run now. */
  drained(): Promise<void> {
    if (this.#queue.length === 0 && !this.#running) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#waiters.push(resolve));
    if (!this.#running && this.#failures === 0) this.#flushNow();
    return done;
  }

  async close(): Promise<void> {
    if (this.#handler && this.#queue.length > 0) {
      await this.drained();
    }
    this.#closed = true;
  }

  #timer:
    { kind: 'timeout'; handle: NodeJS.Timeout } | { kind: 'immediate'; handle: NodeJS.Immediate } | null =
    null;

  #schedule(delayMs: number): void {
    if (this.#closed || !this.#handler) return;
    if (this.#scheduled) {
      if (delayMs !== 0 || this.#failures > 0) return;
      this.#flushNow(); // a full batch does not wait for the timer
      return;
    }
    this.#scheduled = true;
    const run = () => {
      this.#scheduled = false;
      this.#timer = null;
      void this.#drain();
    };
    this.#timer =
      delayMs === 0
        ? { kind: 'immediate', handle: setImmediate(run) }
        : { kind: 'timeout', handle: setTimeout(run, delayMs).unref() };
  }

  #cancelTimer(): void {
    if (this.#timer === null) return;
    if (this.#timer.kind === 'immediate') clearImmediate(this.#timer.handle);
    else clearTimeout(this.#timer.handle);
    this.#timer = null;
    this.#scheduled = false;
  }

  #flushNow(): void {
    this.#cancelTimer();
    this.#schedule(0);
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
          // A flush timer set by a publish during the failed call would otherwise cut the back-off short.
          this.#cancelTimer();
          this.#schedule(Math.min(30_000, this.#retryBaseMs * 2 ** Math.min(this.#failures, 9)));
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
