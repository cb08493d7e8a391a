import type { CoordinationStore } from '@switchyard/core';

/** Per-process counters for the all-in-one mode. */
export class MemoryCoordinationStore implements CoordinationStore {
  readonly #counters = new Map<string, number>();

  async nextCounter(key: string): Promise<number> {
    const n = this.#counters.get(key) ?? 0;
    // Why wrap at 2^31: keeps the counter a small integer forever; only its value modulo a pool size matters.
    this.#counters.set(key, (n + 1) % 0x7fffffff);
    return n;
  }
}
