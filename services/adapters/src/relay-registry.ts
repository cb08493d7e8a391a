import { Redis } from 'ioredis';
import { closeRedis } from './redis-connection.js';
import type { RelayPresence, RelayRegistry } from '@switchyard/core';

/** Why 1 s: an admin listing relays waits at most this long for a Redis that does not answer. */
const COMMAND_TIMEOUT_MS = 1_000;

interface Entry {
  presence: RelayPresence;
  expiresAt: number;
}

function live(entries: Iterable<Entry>, now: number): RelayPresence[] {
  return [...entries]
    .filter((e) => e.expiresAt > now)
    .map((e) => e.presence)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Relays in one Redis hash, `<prefix>relay-presence`: field = relay id, value = JSON of the presence
 * and its expiry. Listing drops (and deletes) expired fields, so a relay that died disappears after
 * its TTL without any sweeper. One small hash: relays number in the tens, and only admins list them.
 */
export class RedisRelayRegistry implements RelayRegistry {
  readonly #redis: Redis;
  readonly #key: string;

  constructor(opts: { url: string; keyPrefix?: string }) {
    this.#key = `${opts.keyPrefix ?? 'switchyard:'}relay-presence`;
    // With the offline queue, a call made before the connection is up waits for it; the command
    // timeout bounds that wait, so a Redis outage costs an admin's listing one second, not a hang.
    this.#redis = new Redis(opts.url, {
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(2 ** attempt * 100, 5_000),
    });
    // Announcing is best effort; without a listener ioredis would print every failed reconnect.
    this.#redis.on('error', () => undefined);
  }

  async announce(presence: RelayPresence, ttlMs: number): Promise<void> {
    const entry: Entry = { presence, expiresAt: Date.now() + ttlMs };
    await this.#redis.hset(this.#key, presence.id, JSON.stringify(entry));
  }

  async withdraw(id: string): Promise<void> {
    await this.#redis.hdel(this.#key, id);
  }

  async list(): Promise<RelayPresence[]> {
    const now = Date.now();
    const raw = await this.#redis.hgetall(this.#key);
    const entries: Entry[] = [];
    const expired: string[] = [];
    for (const [id, json] of Object.entries(raw)) {
      let entry: Entry | null = null;
      try {
        entry = JSON.parse(json) as Entry;
      } catch {
        // A field another build wrote in another shape: treat it as gone.
      }
      if (entry === null || typeof entry.expiresAt !== 'number' || entry.expiresAt <= now) expired.push(id);
      else entries.push(entry);
    }
    if (expired.length > 0) await this.#redis.hdel(this.#key, ...expired).catch(() => undefined);
    return live(entries, now);
  }

  async close(): Promise<void> {
    await closeRedis(this.#redis);
  }
}

/** The all-in-one's registry: its one relay, in process. */
export class MemoryRelayRegistry implements RelayRegistry {
  readonly #entries = new Map<string, Entry>();

  async announce(presence: RelayPresence, ttlMs: number): Promise<void> {
    this.#entries.set(presence.id, { presence, expiresAt: Date.now() + ttlMs });
  }

  async withdraw(id: string): Promise<void> {
    this.#entries.delete(id);
  }

  async list(): Promise<RelayPresence[]> {
    return live(this.#entries.values(), Date.now());
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }
}
