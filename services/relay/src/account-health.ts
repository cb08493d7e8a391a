import CircuitBreaker from 'opossum';
import type {
  AccountStatusReporter,
  BreakerSettings,
  ConfigSnapshot,
  CoordinationStore,
} from '@switchyard/core';
import type { Logger } from 'pino';
import { backoffMs, cooldownFor } from './cooldown-policy.js';
import type { RelayMetrics } from './relay-metrics.js';
import type { Candidate } from './routing-table.js';

/** Why an attempt counts against its account. */
export type FailureKind =
  'rate_limited' | 'overloaded' | 'server_error' | 'timeout' | 'unreachable' | 'bad_response' | 'auth';

/** How the relay judges one attempt's outcome for the account's health. */
export type Verdict =
  | { kind: 'success' }
  /** Neither: the client left, or the request itself was refused (a 4xx about the request). */
  | { kind: 'neutral' }
  | {
      kind: 'failure';
      failure: FailureKind;
      /** The provider's own wait hint (Retry-After and friends), when it gave one. */
      waitMs: number | null;
      upstreamStatus: number | null;
      /** Short and secret-free; shown to admins as the last error. */
      message: string;
    };

/** What a relay reports about one account (JSON in the coordination store's health hash). */
export interface HealthReport {
  state: 'closed' | 'open' | 'half_open';
  requests: number;
  failures: number;
  errorRate: number;
  lastError: string | null;
  lastErrorAt: number | null;
  lastStatus: number | null;
  updatedAt: number;
}

export const BREAKER_OPEN = Symbol('breaker-open');

/** The request an attempt serves: named in the control plane's log line when the attempt's account is reported. */
export interface AttemptRequest {
  requestId: string;
  clientRequestId: string | null;
}

/** The coordination-store key of a channel-account's cooldown and health. */
export function accountKey(accountId: number): string {
  return `acct:${accountId}`;
}

/** Why 2 minutes: a relay that stopped reporting (gone, scaled in) drops out of the admin view soon. */
const REPORT_TTL_MS = 120_000;
/** Why 1 s: health reports are for humans and dashboards; one write per account per second is plenty. */
const REPORT_INTERVAL_MS = 1_000;
/**
 * Why 60 s: long enough for the control plane to disable the account and every relay to get the new
 * snapshot; short enough that an account wrongly judged (a transient 401) comes back by itself.
 */
const AUTH_FAILURE_BLOCK_MS = 60_000;
/**
 * Why 250 ms: how long a cooldown read from the coordination store is reused before it is read
 * again. Under load that saves a Redis round trip on nearly every request; the price is that another
 * relay's new cooldown may go unseen here for up to a quarter of a second. Cooldowns this relay sets
 * are seen at once, and a new snapshot (an admin re-enabled an account) drops everything read.
 */
const COOLDOWN_READ_TTL_MS = 250;

class CountedFailure<T> extends Error {
  constructor(
    readonly result: T,
    readonly verdict: Extract<Verdict, { kind: 'failure' }>,
  ) {
    super(verdict.message);
  }
}

interface AccountState {
  breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  settings: BreakerSettings;
  channelId: number;
  consecutive: number;
  lastError: string | null;
  lastErrorAt: number | null;
  lastStatus: number | null;
  dirty: boolean;
}

export interface AccountHealthOptions {
  coordination: CoordinationStore;
  /** Null: auth failures only cool the account down (no control plane to tell). */
  reporter: AccountStatusReporter | null;
  /** This relay's id in health reports. */
  relayId: string;
  metrics: RelayMetrics;
  logger: Logger;
}

/**
 * Health of every channel-account as this relay sees it: one opossum circuit breaker per account (with
 * its channel's settings; half-open after the reset timeout lets one probe request through), shared
 * cooldowns in the coordination store (Retry-After and rate-limit reset hints honoured; 5xx, timeouts
 * and unreachable upstreams back off exponentially), and reports of auth failures to the control plane,
 * which disables the account. Health is reported to the coordination store for the admin API.
 */
export class AccountHealth {
  readonly #opts: AccountHealthOptions;
  readonly #accounts = new Map<number, AccountState>();
  /** Accounts an auth failure took out of rotation here until the snapshot says so: id → until. */
  readonly #blocked = new Map<number, number>();
  /** Accounts (or their channels) disabled in the current snapshot. */
  #disabled = new Set<number>();
  /** Cooldowns as last read or set here: account id → until (0: none) and when that was known. */
  readonly #cooldownSeen = new Map<number, { until: number; at: number }>();
  #timer: NodeJS.Timeout | null = null;

  constructor(opts: AccountHealthOptions) {
    this.#opts = opts;
  }

  /**
   * Drops breakers of accounts that left the snapshot and rebuilds those whose settings changed. An
   * account the snapshot shows disabled needs no local block any more; one that an admin re-enabled
   * starts over with a closed breaker.
   */
  update(snapshot: ConfigSnapshot): void {
    const live = new Map<number, BreakerSettings>();
    const disabled = new Set<number>();
    for (const c of snapshot.channels) {
      for (const a of c.accounts) {
        live.set(a.id, c.breaker);
        if (!a.enabled || !c.enabled) disabled.add(a.id);
      }
    }
    for (const [id, state] of this.#accounts) {
      const settings = live.get(id);
      const reEnabled = this.#disabled.has(id) && !disabled.has(id);
      if (settings === undefined || reEnabled || !sameSettings(settings, state.settings)) {
        state.breaker.shutdown();
        this.#accounts.delete(id);
      }
    }
    for (const id of this.#blocked.keys()) if (!live.has(id) || disabled.has(id)) this.#blocked.delete(id);
    this.#disabled = disabled;
    this.#cooldownSeen.clear();
  }

  /**
   * The candidates that may be tried now, in their order: not cooling down (one coordination-store
   * round trip for all of them), breaker not open, not locally blocked. `retryAt` is the earliest
   * epoch ms at which a left-out candidate becomes usable again (for Retry-After), and `rateLimited`
   * whether every left-out candidate was rate limited.
   */
  async usable(
    candidates: Candidate[],
  ): Promise<{ usable: Candidate[]; retryAt: number | null; skipped: number }> {
    if (candidates.length === 0) return { usable: [], retryAt: null, skipped: 0 };
    const now = Date.now();
    const untils = await this.#cooldownsOf(candidates, now);
    const usable: Candidate[] = [];
    let retryAt: number | null = null;
    const later = (t: number) => {
      if (retryAt === null || t < retryAt) retryAt = t;
    };
    candidates.forEach((c, i) => {
      const id = c.account.id;
      const blocked = this.#blocked.get(id);
      if (blocked !== undefined) {
        if (blocked > now) {
          this.#opts.metrics.candidatesSkipped.inc({ reason: 'auth_failure' });
          return later(blocked);
        }
        this.#blocked.delete(id);
      }
      const until = untils[i] ?? 0;
      if (until > now) {
        this.#opts.metrics.candidatesSkipped.inc({ reason: 'cooling_down' });
        return later(until);
      }
      const state = this.#accounts.get(id);
      if (state !== undefined && state.breaker.opened) {
        this.#opts.metrics.candidatesSkipped.inc({ reason: 'breaker_open' });
        return later(now + state.settings.resetTimeoutMs);
      }
      usable.push(c);
    });
    return { usable, retryAt, skipped: candidates.length - usable.length };
  }

  /** Each candidate's cooldown end: fresh reads from this relay's cache, the rest in one store call. */
  async #cooldownsOf(candidates: Candidate[], now: number): Promise<number[]> {
    const out: number[] = new Array<number>(candidates.length);
    const missing: number[] = [];
    candidates.forEach((c, i) => {
      const seen = this.#cooldownSeen.get(c.account.id);
      if (seen !== undefined && now - seen.at < COOLDOWN_READ_TTL_MS) out[i] = seen.until;
      else missing.push(i);
    });
    if (missing.length === 0) return out;
    const fetched = await this.#opts.coordination.cooldowns(
      missing.map((i) => accountKey(candidates[i]!.account.id)),
    );
    missing.forEach((i, j) => {
      const until = fetched[j] ?? 0;
      out[i] = until;
      this.#cooldownSeen.set(candidates[i]!.account.id, { until, at: now });
    });
    return out;
  }

  /**
   * Runs one attempt under the account's breaker. `judge` says what the outcome means for the account;
   * failures count against the breaker and set cooldowns. Resolves BREAKER_OPEN when the breaker
   * refused the attempt (open, or half-open with its probe already in flight): try the next candidate.
   * An error `attempt` throws propagates and does not count against the account. `request` names the
   * request in an auth-failure report.
   */
  async run<T>(
    c: Candidate,
    attempt: () => Promise<T>,
    judge: (result: T) => Verdict,
    request?: AttemptRequest,
  ): Promise<T | typeof BREAKER_OPEN> {
    const state = this.#state(c);
    try {
      return (await state.breaker.fire(async () => {
        const result = await attempt();
        const verdict = judge(result);
        if (verdict.kind === 'failure') throw new CountedFailure(result, verdict);
        if (verdict.kind === 'success') state.consecutive = 0;
        return result;
      })) as T;
    } catch (err) {
      if (err instanceof CountedFailure) {
        await this.#failed(c, state, err.verdict, request);
        return err.result as T;
      }
      if ((err as { code?: unknown } | null)?.code === 'EOPENBREAKER') {
        this.#opts.metrics.candidatesSkipped.inc({ reason: 'breaker_open' });
        return BREAKER_OPEN;
      }
      throw err;
    } finally {
      this.#markDirty(state);
    }
  }

  /** The breaker state of an account on this relay (for tests and the health report). */
  breakerState(accountId: number): HealthReport['state'] {
    const b = this.#accounts.get(accountId)?.breaker;
    return b === undefined || b.closed ? 'closed' : b.halfOpen ? 'half_open' : 'open';
  }

  /** Writes pending health reports now (tests; shutdown). */
  async flush(): Promise<void> {
    const now = Date.now();
    const writes: Promise<void>[] = [];
    for (const [id, s] of this.#accounts) {
      if (!s.dirty) continue;
      s.dirty = false;
      const stats = s.breaker.stats;
      const report: HealthReport = {
        state: this.breakerState(id),
        requests: stats.fires,
        failures: stats.failures,
        errorRate: stats.fires === 0 ? 0 : Math.round((stats.failures / stats.fires) * 1000) / 1000,
        lastError: s.lastError,
        lastErrorAt: s.lastErrorAt,
        lastStatus: s.lastStatus,
        updatedAt: now,
      };
      writes.push(
        this.#opts.coordination.reportHealth(
          accountKey(id),
          this.#opts.relayId,
          JSON.stringify(report),
          REPORT_TTL_MS,
        ),
      );
    }
    await Promise.allSettled(writes);
  }

  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    for (const s of this.#accounts.values()) s.breaker.shutdown();
    this.#accounts.clear();
  }

  #state(c: Candidate): AccountState {
    const state = this.#accounts.get(c.account.id);
    if (state !== undefined) return state;
    const settings = c.channel.breaker;
    const breaker = new CircuitBreaker((run: () => Promise<unknown>) => run(), {
      // The relay has its own connect, first-byte and idle timeouts per channel; the breaker only counts.
      timeout: false,
      errorThresholdPercentage: settings.errorThresholdPercent,
      volumeThreshold: settings.volumeThreshold,
      resetTimeout: settings.resetTimeoutMs,
      rollingCountTimeout: settings.windowMs,
      // Why 10 buckets: opossum's default granularity; the window slides in tenths.
      rollingCountBuckets: 10,
      // Latency percentiles and periodic snapshot events cost on every request and nobody reads them:
      // the relay's histograms measure latency.
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      // Only account failures count; anything else an attempt throws is about the request, not the account.
      errorFilter: (err: unknown) => !(err instanceof CountedFailure),
    });
    const labels = { channel: String(c.channel.id), account: String(c.account.id) };
    const gauge = this.#opts.metrics.breakerState;
    gauge.set(labels, 0);
    const created: AccountState = {
      breaker,
      settings,
      channelId: c.channel.id,
      consecutive: 0,
      lastError: null,
      lastErrorAt: null,
      lastStatus: null,
      dirty: true,
    };
    const changed = (to: 0 | 1 | 2, name: string) => {
      gauge.set(labels, to);
      created.dirty = true;
      this.#opts.logger.warn(
        { channel_id: c.channel.id, account_id: c.account.id, breaker: name },
        'circuit breaker changed state',
      );
      void this.flush();
    };
    breaker.on('open', () => changed(2, 'open'));
    breaker.on('halfOpen', () => changed(1, 'half_open'));
    breaker.on('close', () => changed(0, 'closed'));
    this.#accounts.set(c.account.id, created);
    return created;
  }

  async #failed(
    c: Candidate,
    state: AccountState,
    v: Extract<Verdict, { kind: 'failure' }>,
    request: AttemptRequest | undefined,
  ): Promise<void> {
    state.consecutive += 1;
    state.lastError = v.message;
    state.lastErrorAt = Date.now();
    state.lastStatus = v.upstreamStatus;
    const labels = { channel: String(c.channel.id), account: String(c.account.id) };
    this.#opts.metrics.failovers.inc({ channel: labels.channel, reason: v.failure });
    let ms = 0;
    switch (v.failure) {
      case 'rate_limited':
      case 'overloaded':
        ms = cooldownFor(v.waitMs, state.consecutive);
        break;
      case 'timeout':
      case 'unreachable':
        ms = backoffMs(state.consecutive);
        break;
      case 'server_error':
      case 'bad_response':
        // One 5xx is often a blip another attempt would survive: back off from the second in a row.
        ms = state.consecutive >= 2 ? cooldownFor(v.waitMs, state.consecutive - 1) : 0;
        break;
      case 'auth':
        ms = AUTH_FAILURE_BLOCK_MS;
        await this.#authFailed(c, v, request);
        break;
    }
    if (ms > 0) {
      this.#opts.metrics.cooldowns.inc({ ...labels, reason: v.failure });
      try {
        const until = Date.now() + ms;
        const seen = this.#cooldownSeen.get(c.account.id);
        this.#cooldownSeen.set(c.account.id, { until: Math.max(until, seen?.until ?? 0), at: Date.now() });
        await this.#opts.coordination.coolDown(accountKey(c.account.id), ms);
      } catch (err) {
        this.#opts.logger.warn(
          { account_id: c.account.id, err: (err as Error).message },
          'could not store a cooldown',
        );
      }
    }
  }

  async #authFailed(
    c: Candidate,
    v: Extract<Verdict, { kind: 'failure' }>,
    request: AttemptRequest | undefined,
  ): Promise<void> {
    // OAuth access tokens are refreshed by the control plane, and a refresh that fails disables the
    // account there; a 401 here most likely met a token a refresh is about to replace.
    if (c.account.kind === 'oauth') return;
    this.#blocked.set(c.account.id, Date.now() + AUTH_FAILURE_BLOCK_MS);
    this.#opts.metrics.accountsDisabled.inc({ channel: String(c.channel.id), account: String(c.account.id) });
    if (this.#opts.reporter === null) return;
    try {
      await this.#opts.reporter.reportAuthFailure({
        accountId: c.account.id,
        channelId: c.channel.id,
        upstreamStatus: v.upstreamStatus ?? 0,
        reason: v.message,
        ...(request !== undefined && { requestId: request.requestId }),
        ...(request?.clientRequestId != null && { clientRequestId: request.clientRequestId }),
      });
    } catch (err) {
      // The local block and the shared cooldown still keep the account out; the next failure reports again.
      this.#opts.logger.error(
        {
          account_id: c.account.id,
          request_id: request?.requestId,
          client_request_id: request?.clientRequestId ?? undefined,
          err: (err as Error).message,
        },
        'could not report an account auth failure',
      );
    }
  }

  #markDirty(state: AccountState): void {
    state.dirty = true;
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.flush();
    }, REPORT_INTERVAL_MS);
    this.#timer.unref();
  }
}

function sameSettings(a: BreakerSettings, b: BreakerSettings): boolean {
  return (
    a.errorThresholdPercent === b.errorThresholdPercent &&
    a.volumeThreshold === b.volumeThreshold &&
    a.resetTimeoutMs === b.resetTimeoutMs &&
    a.windowMs === b.windowMs
  );
}
