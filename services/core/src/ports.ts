import type { ConfigSnapshot, UsageEvent } from './domain.js';

/**
 * Where a relay gets its configuration: the latest snapshot and a stream of newer ones.
 * Embedded: a direct call into the control plane. Distributed: a gRPC client.
 */
export interface ConfigSource {
  /** The latest snapshot. Always available once the source has started. */
  current(): ConfigSnapshot;
  /** Called with every newer snapshot; returns an unsubscribe function. */
  subscribe(listener: (snapshot: ConfigSnapshot) => void): () => void;
}

/**
 * Shared counters and cooldowns used by routing. Embedded: process memory. Distributed: Redis,
 * shared by every relay. Times are epoch milliseconds.
 */
export interface CoordinationStore {
  /** Atomically increments and returns the counter under `key` (starting at 0). */
  nextCounter(key: string): Promise<number>;
  /**
   * Marks `key` (a channel-account) as cooling down for `ms` milliseconds; a longer existing
   * cooldown is kept. A non-positive `ms` sets nothing.
   */
  coolDown(key: string, ms: number): Promise<void>;
  /** For each key, the epoch ms until which it cools down, or 0 when it does not. One round trip. */
  cooldowns(keys: readonly string[]): Promise<number[]>;
  /** Clears a cooldown (an admin re-enabled the account, or a probe succeeded). */
  clearCooldown(key: string): Promise<void>;
  /**
   * Records `value` (a small JSON document) as what `member` (a relay id) reports about `key` (a
   * channel-account), kept for `ttlMs` after the last report of any member.
   */
  reportHealth(key: string, member: string, value: string, ttlMs: number): Promise<void>;
  /** For each key, every member's latest report (member → value); `{}` when none. One round trip. */
  healthReports(keys: readonly string[]): Promise<Array<Record<string, string>>>;
  /**
   * Checks every scope's quota, request and token windows and concurrency, and when all of them
   * admit the request takes its hold, its window counts and its concurrency slot in each scope, as one
   * atomic step (all or nothing). One round trip.
   */
  admit(request: AdmissionRequest): Promise<AdmissionDecision>;
  /**
   * Ends an admitted request: frees its hold and concurrency slot in each scope, adds its real cost to
   * the scope's spend and corrects the token window by `tokensDelta`. The hold and slot are freed only
   * once (a repeated release, or one after the hold expired, still adds the cost). One round trip.
   */
  release(release: AdmissionRelease): Promise<void>;
  /** Records that `member` (a relay) is alive for `ttlMs`; returns how many members are alive now. */
  heartbeat(member: string, ttlMs: number): Promise<number>;
}

/** A key or user whose quota and limits a request counts against. */
export interface LimitScope {
  /**
   * Names the scope's state in the store: `k:<key id>:<created_at>` or `u:<user id>:<created_at>`, so
   * a recreated database never inherits an old balance.
   */
  id: string;
  /** Spending limit in nano-USD; null = unlimited. */
  quotaNano: number | null;
  /** Settled spend known to the snapshot: the store starts from it when it holds no spend for the scope. */
  usedNano: number;
  /** Requests per minute; null = unlimited. */
  rpmLimit: number | null;
  /** Tokens per minute; null = unlimited. */
  tpmLimit: number | null;
  /** Requests in flight at once; null = unlimited. */
  concurrencyLimit: number | null;
}

export interface AdmissionRequest {
  requestId: string;
  /** Epoch ms (the relay's clock). */
  now: number;
  /** How long the hold and concurrency slot live if never released (its relay died). */
  ttlMs: number;
  /** Estimated cost to hold (nano-USD). */
  holdNano: number;
  /** Estimated tokens (prompt + max output) counted in the token window. */
  tokens: number;
  scopes: LimitScope[];
}

/** A rate window as the `x-ratelimit-*` headers show it. */
export interface WindowState {
  limit: number;
  /** What is left after this request (0 when refused). */
  remaining: number;
  /** Milliseconds until the window is fully replenished. */
  resetMs: number;
}

/** One scope's state after an admission decision. */
export interface ScopeState {
  id: string;
  /** Null when the scope has no such limit. */
  requests: WindowState | null;
  tokens: WindowState | null;
  /** Quota minus spend minus holds (this request's included when admitted), nano-USD; null = unlimited. */
  remainingNano: number | null;
}

export type AdmissionRefusal = 'quota' | 'rpm' | 'tpm' | 'concurrency';

export type AdmissionDecision =
  | { admitted: true; scopes: ScopeState[] }
  | {
      admitted: false;
      /** The first scope that refused, and why. */
      scope: string;
      reason: AdmissionRefusal;
      /** When trying again may succeed (rate windows and concurrency); null for an exhausted quota. */
      retryAfterMs: number | null;
      scopes: ScopeState[];
    };

export interface AdmissionRelease {
  requestId: string;
  now: number;
  /** The admission's `now`: its token window is the one corrected. */
  admittedAt: number;
  /** The hold taken at admission. */
  holdNano: number;
  /** The real cost, added to each scope's spend. */
  costNano: number;
  /** Real tokens minus the admission's estimate (may be negative). */
  tokensDelta: number;
  /** The scope ids of the admission. */
  scopes: string[];
}

/** What a relay tells the control plane about an account it must stop using. */
export interface AccountFailureReport {
  accountId: number;
  channelId: number;
  /** The upstream HTTP status (401, 403) or 0 for a failure without one. */
  upstreamStatus: number;
  /** A short, secret-free reason shown to admins. */
  reason: string;
  /**
   * The gateway's id of the request that met the failure, so the control plane's log line for the
   * report can be found from the relay's. Over gRPC it travels as `x-request-id` metadata.
   */
  requestId?: string;
  /** The caller's own `x-request-id` of that request, when it sent one (`x-client-request-id` metadata). */
  clientRequestId?: string;
}

/**
 * What a report changed: `disabled` took the account out of rotation; `unchanged` found it unknown or
 * already disabled (by an admin, or by another relay's report a moment earlier).
 */
export type AccountFailureOutcome = 'disabled' | 'unchanged';

/**
 * Relays report accounts whose credential the upstream rejected; the control plane disables them with
 * the reason recorded and publishes a new snapshot. Embedded: a direct call; distributed: gRPC.
 */
export interface AccountStatusReporter {
  reportAuthFailure(report: AccountFailureReport): Promise<AccountFailureOutcome>;
}

/**
 * Carries usage events from relays to accounting, at least once. Publishing never blocks a response.
 */
export interface UsageBus {
  publish(event: UsageEvent): void;
  /** Registers the consumer. A handler that throws leaves its events to be redelivered. */
  subscribe(handler: (events: UsageEvent[]) => Promise<void>): () => void;
  /** Resolves when every event published so far has been handled. */
  drained(): Promise<void>;
  close(): Promise<void>;
}
