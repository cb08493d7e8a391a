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
}

/** What a relay tells the control plane about an account it must stop using. */
export interface AccountFailureReport {
  accountId: number;
  channelId: number;
  /** The upstream HTTP status (401, 403) or 0 for a failure without one. */
  upstreamStatus: number;
  /** A short, secret-free reason shown to admins. */
  reason: string;
}

/**
 * Relays report accounts whose credential the upstream rejected; the control plane disables them with
 * the reason recorded and publishes a new snapshot. Embedded: a direct call; distributed: gRPC.
 */
export interface AccountStatusReporter {
  reportAuthFailure(report: AccountFailureReport): Promise<void>;
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
