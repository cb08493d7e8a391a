import type {
  AdmissionDecision,
  AdmissionRelease,
  AdmissionRequest,
  CoordinationStore,
  LimitScope,
} from '@switchyard/core';

/** An admission decision together with each scope's spend in the store that decided it. */
export interface AdmissionWithSpend {
  decision: AdmissionDecision;
  /** The store's spend (nano-USD) of each scope after the decision, in the order of the request's scopes. */
  usedNano: number[];
}

/** A primary store, such as `RedisCoordinationStore`: health-checked, and telling its spend per scope. */
export interface ProbeableCoordinationStore extends CoordinationStore {
  /** Resolves when the store answers; throws when it does not. */
  ping(): Promise<void>;
  /** `admit`, also returning each scope's spend after the decision (same round trip). */
  admitWithSpend(request: AdmissionRequest): Promise<AdmissionWithSpend>;
}

/** A fallback store, such as `MemoryCoordinationStore`, whose spend per scope can be set from outside. */
export interface SeedableCoordinationStore extends CoordinationStore {
  /** Overwrites the scope's spend (nano-USD). */
  seedSpend(scopeId: string, usedNano: number): void;
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
 *
 * Limits fall back to per-relay shares. Every successful `heartbeat` of the primary tells how many
 * relays are alive (n, 1 until the first one); while degraded `heartbeat` is answered by the fallback
 * but n stays the primary's last count. Every admission the primary decides seeds the fallback with
 * each scope's shared spend, and that spend is remembered. While degraded, admissions are decided by
 * the fallback with each scope's requests, tokens and concurrency limits divided by n (floor, at least
 * 1) and its quota cut to this relay's share of what was left: last known spend + floor((quota − last
 * known spend) / n), where the last known spend is the primary's or, for a scope the primary never
 * decided here, the snapshot's. The relays together thus stay within each limit while apart.
 * Releases go where admissions go now; one for a hold the other store took just adds its cost.
 */
export class ResilientCoordinationStore implements CoordinationStore {
  readonly #primary: ProbeableCoordinationStore;
  readonly #fallback: SeedableCoordinationStore;
  /** Live relays at the primary's last successful heartbeat: the divisor of limits while degraded. */
  #relays = 1;
  /** Scope id → its spend as the primary last reported it, nano-USD. */
  readonly #knownSpend = new Map<string, number>();
  readonly #probeIntervalMs: number;
  readonly #onStateChange: ((status: CoordinationStoreStatus) => void) | undefined;
  #status: CoordinationStoreStatus = { backend: 'primary', degradedSince: null, lastError: null };
  #probe: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(
    primary: ProbeableCoordinationStore,
    fallback: SeedableCoordinationStore,
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

  async admit(request: AdmissionRequest): Promise<AdmissionDecision> {
    if (this.#status.backend === 'primary') {
      try {
        const { decision, usedNano } = await this.#primary.admitWithSpend(request);
        request.scopes.forEach((scope, i) => {
          const used = usedNano[i]!;
          this.#knownSpend.set(scope.id, used);
          this.#fallback.seedSpend(scope.id, used);
        });
        return decision;
      } catch (err) {
        this.#degrade(err);
      }
    }
    return this.#fallback.admit({
      ...request,
      scopes: request.scopes.map((scope) => this.#localShare(scope)),
    });
  }

  release(release: AdmissionRelease): Promise<void> {
    return this.#call((store) => store.release(release));
  }

  async heartbeat(member: string, ttlMs: number): Promise<number> {
    if (this.#status.backend === 'primary') {
      try {
        const live = await this.#primary.heartbeat(member, ttlMs);
        this.#relays = Math.max(1, live);
        return live;
      } catch (err) {
        this.#degrade(err);
      }
    }
    return this.#fallback.heartbeat(member, ttlMs);
  }

  /** The live relay count the limits are divided by while degraded. */
  relayCount(): number {
    return this.#relays;
  }

  /** This relay's share of a scope's limits, for decisions taken without the primary. */
  #localShare(scope: LimitScope): LimitScope {
    const n = this.#relays;
    if (n === 1) return scope;
    // A limit of 0 (nothing allowed) stays 0; any other keeps at least 1 so a relay is never shut out.
    const share = (limit: number | null) =>
      limit === null || limit <= 0 ? limit : Math.max(1, Math.floor(limit / n));
    // The snapshot may know of later spend than the last answer this relay saw: the larger one counts.
    const known = Math.max(this.#knownSpend.get(scope.id) ?? 0, scope.usedNano);
    return {
      ...scope,
      quotaNano: scope.quotaNano === null ? null : known + Math.floor((scope.quotaNano - known) / n),
      rpmLimit: share(scope.rpmLimit),
      tpmLimit: share(scope.tpmLimit),
      concurrencyLimit: share(scope.concurrencyLimit),
    };
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
