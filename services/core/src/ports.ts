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
 * Shared counters and cooldowns used by routing. Embedded: process memory. Distributed: Redis.
 */
export interface CoordinationStore {
  /** Atomically increments and returns the counter under `key` (starting at 0). */
  nextCounter(key: string): Promise<number>;
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
