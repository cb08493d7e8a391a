/**
 * What a relay says about itself to the fleet, so an admin can see every relay at once: which
 * snapshot it serves and how its dependencies are. Relays announce it every few seconds; an entry
 * not renewed within its TTL (a relay that died) drops out.
 */
export interface RelayPresence {
  /** SWITCHYARD_RELAY_ID, or host:pid (the pod name under Kubernetes). */
  id: string;
  /** ISO 8601. */
  startedAt: string;
  /** When this entry was written, ISO 8601. */
  seenAt: string;
  /** The config snapshot version it serves. */
  snapshotVersion: number;
  /** Its dependencies as its /readyz shows them: check name → state (`up`, `down …`, a count). */
  checks: Record<string, string>;
}

/** Where relays announce themselves and admins list them (Redis distributed, memory all-in-one). */
export interface RelayRegistry {
  announce(presence: RelayPresence, ttlMs: number): Promise<void>;
  /** Removes a relay at once (a graceful stop), instead of waiting for its TTL. */
  withdraw(id: string): Promise<void>;
  /** Live relays, by id. */
  list(): Promise<RelayPresence[]>;
  close(): Promise<void>;
}
