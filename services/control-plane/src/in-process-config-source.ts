import type { Logger } from 'pino';
import type { ConfigSnapshot, ConfigSource } from '@switchyard/core';

/**
 * The embedded ConfigSource: the control plane publishes each new snapshot here and listeners in the
 * same process (the relay, a gRPC watch stream) get it synchronously. Snapshots are shared, not copied:
 * listeners must treat them as immutable.
 */
export class InProcessConfigSource implements ConfigSource {
  #current: ConfigSnapshot | null = null;
  readonly #listeners = new Set<(snapshot: ConfigSnapshot) => void>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** The latest snapshot; throws before the first one was published (before ControlPlane.start()). */
  current(): ConfigSnapshot {
    if (this.#current === null) {
      throw new Error('no config snapshot yet: ControlPlane.start() has not completed');
    }
    return this.#current;
  }

  subscribe(listener: (snapshot: ConfigSnapshot) => void): () => void {
    // Wrapped so the same function subscribed twice gets two independent subscriptions.
    const entry = (snapshot: ConfigSnapshot) => listener(snapshot);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /**
   * Makes `snapshot` current and hands it to every listener before returning. A listener that throws
   * is logged and does not keep the others (or the admin write that triggered this) from completing.
   */
  publish(snapshot: ConfigSnapshot): void {
    this.#current = snapshot;
    for (const listener of [...this.#listeners]) {
      try {
        listener(snapshot);
      } catch (err) {
        this.#logger.error({ err, version: snapshot.version }, 'config snapshot listener threw');
      }
    }
  }

  /** Drops every listener; current() keeps answering with the last snapshot. */
  close(): void {
    this.#listeners.clear();
  }
}
