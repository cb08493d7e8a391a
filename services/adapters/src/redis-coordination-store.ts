import { Redis } from 'ioredis';
import type { CoordinationStore } from '@switchyard/core';

/** Settings for {@link RedisCoordinationStore}. */
export interface RedisCoordinationStoreOptions {
  /** `redis://[user:pass@]host:port[/db]` or `rediss://…` for TLS. */
  url: string;
  /** Prepended to every key, so several deployments can share one Redis. Default `switchyard:`. */
  keyPrefix?: string;
  /** How long one command may take before it fails (and the caller falls back). Default 500 ms. */
  commandTimeoutMs?: number;
  /** How long one connection attempt may take. Default 2000 ms. */
  connectTimeoutMs?: number;
}

// Why 500 ms: coordination calls sit on the request hot path; a healthy Redis answers in well under
// a millisecond, so anything this slow is an outage and the relay should use local state instead.
const DEFAULT_COMMAND_TIMEOUT_MS = 500;
// Why 2 s: long enough for a Redis across a data-centre link, short enough for a clear start-up error.
const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
// Why 100 ms doubling up to 2 s: reconnects quickly after a blip, never hammers a dead server, and
// never gives up (a relay keeps serving from local state and rejoins when Redis returns).
const RECONNECT_BASE_MS = 100;
const RECONNECT_CAP_MS = 2_000;

/**
 * Sets KEYS[1] to ARGV[1] (an until-timestamp, epoch ms) with a TTL of ARGV[2] ms, only when no
 * later until is stored: "keep the longer cooldown" as one atomic step. Returns 1 when it wrote.
 */
const COOL_DOWN_LUA = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local untilMs = tonumber(ARGV[1])
if untilMs > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

/** The client with the script registered by `defineCommand` (EVALSHA, falling back to EVAL once). */
type ScriptedRedis = Redis & {
  switchyardCoolDown(key: string, untilMs: string, ttlMs: string): Promise<number>;
};

/**
 * Counters and cooldowns in Redis, shared by every relay.
 *
 * Keys: `<prefix>rr:<key>` holds a counter (INCR); `<prefix>cd:<key>` holds the epoch ms until which
 * a channel-account cools down, with a matching TTL so Redis drops it when it ends; `<prefix>hl:<key>`
 * is a hash of health reports (relay id → JSON), expiring after the last report's TTL. Until-timestamps
 * use the relay's clock (`Date.now()`); relays are expected to run NTP-synchronised clocks, and a
 * skew only shifts the reported until, never the TTL that ends the cooldown.
 *
 * Built for the hot path: no offline queue (a call while disconnected fails at once instead of
 * waiting), no retry or replay of a command cut off by a disconnect, a command timeout, and
 * reconnection forever with capped back-off.
 * Wrap it in a `ResilientCoordinationStore` so failures fall back to per-process state.
 */
export class RedisCoordinationStore implements CoordinationStore {
  readonly #redis: ScriptedRedis;
  readonly #prefix: string;
  readonly #connectTimeoutMs: number;
  readonly #host: string;
  #lastError: string | null = null;

  constructor(options: RedisCoordinationStoreOptions) {
    this.#prefix = options.keyPrefix ?? 'switchyard:';
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#host = new URL(options.url).host;
    const redis = new Redis(options.url, {
      enableOfflineQueue: false,
      // No retries and no replay: a call in flight when the connection drops fails at that moment
      // (not after the command timeout) and is answered from local state; replaying it after a
      // reconnect would apply it twice, seconds late.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: this.#connectTimeoutMs,
      commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(2 ** attempt * RECONNECT_BASE_MS, RECONNECT_CAP_MS),
    });
    // Without a listener ioredis prints every failed reconnect; the error is kept for `ready()`.
    redis.on('error', (err: Error) => {
      this.#lastError = err.message;
    });
    redis.defineCommand('switchyardCoolDown', { numberOfKeys: 1, lua: COOL_DOWN_LUA });
    this.#redis = redis as ScriptedRedis;
  }

  /**
   * Resolves once the connection is ready for commands (calls made before fail, as there is no
   * offline queue). Rejects, naming the server, when it is not ready within the connect timeout.
   */
  async ready(): Promise<void> {
    if (this.#redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#redis.off('ready', onReady);
        const cause = this.#lastError === null ? '' : `: ${this.#lastError}`;
        reject(
          new Error(`Redis at ${this.#host} is not reachable within ${this.#connectTimeoutMs} ms${cause}`),
        );
      }, this.#connectTimeoutMs);
      this.#redis.once('ready', onReady);
    });
  }

  /** Round-trips a PING; throws when Redis does not answer. Used as a health probe. */
  async ping(): Promise<void> {
    await this.#redis.ping();
  }

  async nextCounter(key: string): Promise<number> {
    return (await this.#redis.incr(`${this.#prefix}rr:${key}`)) - 1;
  }

  async coolDown(key: string, ms: number): Promise<void> {
    if (!(ms > 0)) return;
    const ttl = Math.ceil(ms);
    await this.#redis.switchyardCoolDown(`${this.#prefix}cd:${key}`, String(Date.now() + ttl), String(ttl));
  }

  async cooldowns(keys: readonly string[]): Promise<number[]> {
    // MGET with no keys is a Redis error, and asking nothing needs no round trip.
    if (keys.length === 0) return [];
    const values = await this.#redis.mget(keys.map((key) => `${this.#prefix}cd:${key}`));
    const now = Date.now();
    return values.map((value) => {
      const until = value === null ? 0 : Number(value);
      // A key whose TTL has not yet been reaped by Redis, or an unreadable value, is not a cooldown.
      return Number.isFinite(until) && until > now ? until : 0;
    });
  }

  async clearCooldown(key: string): Promise<void> {
    await this.#redis.del(`${this.#prefix}cd:${key}`);
  }

  async reportHealth(key: string, member: string, value: string, ttlMs: number): Promise<void> {
    const k = `${this.#prefix}hl:${key}`;
    await this.#redis
      .multi()
      .hset(k, member, value)
      .pexpire(k, Math.max(1, Math.ceil(ttlMs)))
      .exec();
  }

  async healthReports(keys: readonly string[]): Promise<Array<Record<string, string>>> {
    if (keys.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const key of keys) pipeline.hgetall(`${this.#prefix}hl:${key}`);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, value]) => {
      if (err !== null) throw err;
      return (value ?? {}) as Record<string, string>;
    });
  }

  /** Closes the connection and stops reconnecting. */
  async close(): Promise<void> {
    if (this.#redis.status === 'end') return;
    try {
      await this.#redis.quit();
    } catch {
      // Not connected (QUIT cannot be sent without an offline queue): drop the socket instead.
      this.#redis.disconnect();
    }
  }
}
