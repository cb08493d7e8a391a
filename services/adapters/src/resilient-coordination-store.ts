import type { CoordinationStore } from '@switchyard/core';

/** A store that can be health-checked, such as `RedisCoordinationStore`. */
export interface ProbeableCoordinationStore extends CoordinationStore {
  /** Resolves when the store answers; throws when it does not. */
  ping(): Promise<void>;
}

/** Which store answers calls, since when the primary is away, and why. */
export interface CoordinationStoreStatus {
  backend: 'primary' | 'fallback';
  /** Epoch ms of the switch to the fallback; null while the primary serves. */
  degradedSince: number | null;
  /** The primary's last failure, while degraded; null while the primary serves. */
  lastError: string | null;
}

/** Settings for {@link ResilientCoordinationStore}. */
export interface ResilientCoordinationStoreOptions {
  /** How often the primary is pinged while degraded. Default 1000 ms. */
  probeIntervalMs?: number;
  /** Called on every switch (to the fallback, or back to the primary) with the new status; must not throw. */
  onStateChange?: (status: CoordinationStoreStatus) => void;
}

// Why 1 s: a recovered Redis is rejoined within a second, and a dead one costs one ping a second.
const DEFAULT_PROBE_INTERVAL_MS = 1_000;

/**
 * Answers from the primary (Redis) while it works and from the fallback (process memory) while it
 * does not, so a relay keeps routing through a Redis outage.
 *
 * The first failing call is answered by the fallback and switches the store to it; later calls go
 * straight to the fallback (no request waits on a dead Redis) while a background probe pings the
 * primary every `probeIntervalMs`; the first answer switches back. Each switch is reported through
 * `onStateChange` and visible in `status()`.
 *
 * Cooldowns are also written to the fallback while the primary serves, so a relay that loses Redis
 * still remembers the cooldowns it set itself. Counters and cooldowns written to the fallback during
 * an outage are not copied to the primary on recovery: shared state resumes from what Redis holds.
 */
export class ResilientCoordinationStore implements CoordinationStore {
  readonly #primary: ProbeableCoordinationStore;
  readonly #fallback: CoordinationStore;
  readonly #probeIntervalMs: number;
  readonly #onStateChange: ((status: CoordinationStoreStatus) => void) | undefined;
  #status: CoordinationStoreStatus = { backend: 'primary', degradedSince: null, lastError: null };
  #probe: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(
    primary: ProbeableCoordinationStore,
    fallback: CoordinationStore,
    options: ResilientCoordinationStoreOptions = {},
  ) {
    this.#primary = primary;
    this.#fallback = fallback;
    this.#probeIntervalMs = options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    this.#onStateChange = options.onStateChange;
  }

  /** A snapshot of which store answers and why. */
  status(): CoordinationStoreStatus {
    return { ...this.#status };
  }

  nextCounter(key: string): Promise<number> {
    return this.#call((store) => store.nextCounter(key));
  }

  async coolDown(key: string, ms: number): Promise<void> {
    if (this.#status.backend === 'primary') await this.#fallback.coolDown(key, ms);
    await this.#call((store) => store.coolDown(key, ms));
  }

  cooldowns(keys: readonly string[]): Promise<number[]> {
    return this.#call((store) => store.cooldowns(keys));
  }

  async clearCooldown(key: string): Promise<void> {
    if (this.#status.backend === 'primary') await this.#fallback.clearCooldown(key);
    await this.#call((store) => store.clearCooldown(key));
  }

  async reportHealth(key: string, member: string, value: string, ttlMs: number): Promise<void> {
    if (this.#status.backend === 'primary') await this.#fallback.reportHealth(key, member, value, ttlMs);
    await this.#call((store) => store.reportHealth(key, member, value, ttlMs));
  }

  healthReports(keys: readonly string[]): Promise<Array<Record<string, string>>> {
    return this.#call((store) => store.healthReports(keys));
  }

  /** Stops the probe. The primary and the fallback belong to the caller, which closes them. */
  close(): void {
    this.#closed = true;
    if (this.#probe !== null) clearTimeout(this.#probe);
    this.#probe = null;
  }

  async #call<T>(op: (store: CoordinationStore) => Promise<T>): Promise<T> {
    if (this.#status.backend === 'primary') {
      try {
        return await op(this.#primary);
      } catch (err) {
        this.#degrade(err);
      }
    }
    return op(this.#fallback);
  }

  #degrade(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (this.#status.backend === 'fallback') {
      this.#status = { ...this.#status, lastError: message };
      return;
    }
    this.#status = { backend: 'fallback', degradedSince: Date.now(), lastError: message };
    this.#scheduleProbe();
    this.#report();
  }

  #scheduleProbe(): void {
    if (this.#closed) return;
    this.#probe = setTimeout(() => void this.#runProbe(), this.#probeIntervalMs);
    // The probe alone never keeps a process alive.
    this.#probe.unref();
  }

  async #runProbe(): Promise<void> {
    this.#probe = null;
    try {
      await this.#primary.ping();
    } catch (err) {
      this.#status = { ...this.#status, lastError: err instanceof Error ? err.message : String(err) };
      this.#scheduleProbe();
      return;
    }
    if (this.#closed) return;
    this.#status = { backend: 'primary', degradedSince: null, lastError: null };
    this.#report();
  }

  #report(): void {
    try {
      this.#onStateChange?.(this.status());
    } catch {
      // A failing observer (metrics, /readyz) must not fail the routing call that noticed the switch.
    }
  }
}
