import type { CoordinationStore } from '@switchyard/core';

/**
 * Per-process counters and cooldowns: the all-in-one mode's store, and a relay's fallback while
 * Redis is unreachable. Expired cooldowns are dropped lazily, when they are next read or written.
 */
export class MemoryCoordinationStore implements CoordinationStore {
  readonly #counters = new Map<string, number>();
  /** Channel-account key → epoch ms until which it cools down. */
  readonly #cooldowns = new Map<string, number>();
  /** Channel-account key → member → report, dropped `ttlMs` after the last report. */
  readonly #health = new Map<string, { members: Map<string, string>; expiresAt: number }>();

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

  async reportHealth(key: string, member: string, value: string, ttlMs: number): Promise<void> {
    const now = Date.now();
    let entry = this.#health.get(key);
    if (entry === undefined || entry.expiresAt <= now) {
      entry = { members: new Map(), expiresAt: 0 };
      this.#health.set(key, entry);
    }
    entry.members.set(member, value);
    entry.expiresAt = now + Math.max(1, ttlMs);
  }

  async healthReports(keys: readonly string[]): Promise<Array<Record<string, string>>> {
    const now = Date.now();
    return keys.map((key) => {
      const entry = this.#health.get(key);
      if (entry === undefined) return {};
      if (entry.expiresAt <= now) {
        this.#health.delete(key);
        return {};
      }
      return Object.fromEntries(entry.members);
    });
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
