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
