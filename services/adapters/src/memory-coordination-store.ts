import type { CoordinationStore } from '@switchyard/core';

/**
 * Per-process counters and cooldowns: the all-in-one mode's store, and a relay's fallback while
 * Redis is unreachable. Expired cooldowns are dropped lazily, when they are next read or written.
 */
export class MemoryCoordinationStore implements CoordinationStore {
  readonly #counters = new Map<string, number>();
  /** Channel-account key → epoch ms until which it cools down. */
  readonly #cooldowns = new Map<string, number>();

  async nextCounter(key: string): Promise<number> {
    const n = this.#counters.get(key) ?? 0;
    // Why wrap at 2^31: keeps the counter a small integer forever; only its value modulo a pool size matters.
    this.#counters.set(key, (n + 1) % 0x7fffffff);
    return n;
  }

  async coolDown(key: string, ms: number): Promise<void> {
    if (!(ms > 0)) return;
    const until = Date.now() + Math.ceil(ms);
    if (until > this.#until(key, Date.now())) this.#cooldowns.set(key, until);
  }

  async cooldowns(keys: readonly string[]): Promise<number[]> {
    const now = Date.now();
    return keys.map((key) => this.#until(key, now));
  }

  async clearCooldown(key: string): Promise<void> {
    this.#cooldowns.delete(key);
  }

  /** The live cooldown of `key` at `now`, or 0; an expired entry is removed on the way. */
  #until(key: string, now: number): number {
    const until = this.#cooldowns.get(key);
    if (until === undefined) return 0;
    if (until <= now) {
      this.#cooldowns.delete(key);
      return 0;
    }
    return until;
  }
}
