import type { Logger } from 'pino';
import type { RelayPresence, RelayRegistry } from '@switchyard/core';

/** Why 5 s, with a TTL of three intervals: a relay that died leaves the list within 15 s, and one slow announce is not mistaken for a death. */
export const ANNOUNCE_INTERVAL_MS = 5_000;
const TTL_INTERVALS = 3;

export interface RelayAnnouncerOptions {
  registry: RelayRegistry;
  id: string;
  logger: Logger;
  /** The relay's state at this moment: the snapshot it serves and its dependencies. */
  state(): Pick<RelayPresence, 'snapshotVersion' | 'checks'>;
  intervalMs?: number;
  now?: () => number;
}

/**
 * Keeps this relay's entry in the registry fresh: at start, every interval, and whenever `announceNow`
 * is called (a new snapshot), so an admin's `switchyard status` sees the version a relay serves within
 * moments of the change. Failures are logged at debug and retried at the next interval: announcing is
 * for visibility only and never affects serving.
 */
export class RelayAnnouncer {
  readonly #opts: RelayAnnouncerOptions;
  readonly #startedAt: string;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(opts: RelayAnnouncerOptions) {
    this.#opts = opts;
    this.#intervalMs = opts.intervalMs ?? ANNOUNCE_INTERVAL_MS;
    this.#startedAt = new Date((opts.now ?? Date.now)()).toISOString();
  }

  start(): void {
    if (this.#timer !== null || this.#stopped) return;
    void this.announceNow();
    this.#timer = setInterval(() => void this.announceNow(), this.#intervalMs);
    this.#timer.unref();
  }

  async announceNow(): Promise<void> {
    if (this.#stopped) return;
    const presence: RelayPresence = {
      id: this.#opts.id,
      startedAt: this.#startedAt,
      seenAt: new Date((this.#opts.now ?? Date.now)()).toISOString(),
      ...this.#opts.state(),
    };
    try {
      await this.#opts.registry.announce(presence, this.#intervalMs * TTL_INTERVALS);
    } catch (err) {
      this.#opts.logger.debug({ err }, 'relay presence not announced; the next interval tries again');
    }
  }

  /** Stops announcing and removes the entry, so a relay that shut down leaves the list at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#opts.registry.withdraw(this.#opts.id).catch(() => undefined);
  }
}
