import { Redis } from 'ioredis';
import { closeRedis } from './redis-connection.js';
import type {
  AdmissionDecision,
  AdmissionRefusal,
  AdmissionRelease,
  AdmissionRequest,
  CoordinationStore,
  ScopeState,
  WindowState,
} from '@switchyard/core';
import {
  CONCURRENCY_RETRY_MS,
  SPEND_TTL_MS,
  WINDOW_MS,
  WINDOW_TTL_MS,
  windowIndex,
} from './admission-windows.js';
import type { AdmissionWithSpend } from './resilient-coordination-store.js';

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

/**
 * Drops the expired holds of one scope (score = expiry <= now): their amounts leave `held`. With no
 * hold left, `held` and the amounts are deleted, so a drifted sum heals itself.
 */
const PURGE_HOLDS_LUA = `
local function purge(held, holds, amts, now)
  local expired = redis.call('ZRANGEBYSCORE', holds, '-inf', now)
  for _, member in ipairs(expired) do
    local amount = redis.call('HGET', amts, member)
    if amount then redis.call('DECRBY', held, amount) end
    redis.call('HDEL', amts, member)
  end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', holds, '-inf', now) end
end
local function tidy(held, holds, amts)
  if redis.call('ZCARD', holds) == 0 then redis.call('DEL', held, amts) end
end
`;

/** Keys per scope of the admission script, in this order. */
const ADMIT_KEYS_PER_SCOPE = 8;
/** Arguments per scope of the admission script, after the request's own. */
const ADMIT_ARGS_PER_SCOPE = 5;
/** Reply integers per scope of the admission script, after the decision's own four. */
const ADMIT_REPLY_PER_SCOPE = 9;
const REFUSALS: readonly AdmissionRefusal[] = ['quota', 'concurrency', 'rpm', 'tpm'];

/**
 * Admission, as one atomic step: the Lua twin of `admission-windows.ts` (`scopeRefusal`, `scopeState`
 * and the window functions they call), same operations in the same order. Keep both in step.
 *
 * KEYS, per scope: used, held, holds (zset request id → expiry), amts (hash request id → hold),
 * r:<idx>, r:<idx-1>, t:<idx>, t:<idx-1>.
 * ARGV: now, ttlMs, holdNano, tokens, request id, hold expiry; then per scope: quota, seed spend, rpm,
 * tpm, concurrency ('' = unlimited).
 * Reply: admitted (1/0), refusing scope (0-based), refusal (1 quota, 2 concurrency, 3 rpm, 4 tpm; 0),
 * retry-after ms (-1 = none); then per scope: request limit (-1 = none), remaining, reset ms, token
 * limit (-1 = none), remaining, reset ms, has quota (1/0), remaining nano, spend nano. Only integers:
 * Redis truncates Lua numbers in replies, and nano amounts passed back to Redis come from ARGV or from
 * Redis itself (Lua would print a large double as 1e+15).
 */
const ADMIT_LUA = `
${PURGE_HOLDS_LUA}
local W = ${WINDOW_MS}
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local holdNano = tonumber(ARGV[3])
local tokens = tonumber(ARGV[4])
local idx = math.floor(now / W)
local left = W - (now - idx * W)

local function estimate(prev, curr)
  return (prev * left) / W + curr
end

local function retryAfter(limit, prev, curr, cost)
  if cost > limit then return W end
  local start = idx * W
  local at
  if curr + cost <= limit then
    if prev <= 0 then return 1 end
    at = start + W - ((limit - curr - cost) * W) / prev
  else
    at = start + 2 * W - ((limit - cost) * W) / curr
  end
  return math.max(1, math.ceil(at - now))
end

local function resetMs(prev, curr)
  if curr > 0 then return (idx + 2) * W - now end
  if prev > 0 then return (idx + 1) * W - now end
  return 0
end

local function window(limit, prev, curr, cost, admitted)
  if limit == nil then return -1, 0, 0 end
  if not admitted then return limit, 0, resetMs(prev, curr) end
  return limit, math.max(0, math.floor(limit - (estimate(prev, curr) + cost))), resetMs(prev, curr + cost)
end

local n = #KEYS / ${ADMIT_KEYS_PER_SCOPE}
local scopes = {}
local refusedAt, reason, retry = 0, 0, -1
for i = 1, n do
  local k = (i - 1) * ${ADMIT_KEYS_PER_SCOPE}
  local a = 6 + (i - 1) * ${ADMIT_ARGS_PER_SCOPE}
  purge(KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], ARGV[1])
  tidy(KEYS[k + 2], KEYS[k + 3], KEYS[k + 4])
  redis.call('SET', KEYS[k + 1], ARGV[a + 2], 'NX', 'PX', ${SPEND_TTL_MS})
  local s = {
    quota = tonumber(ARGV[a + 1]),
    rpm = tonumber(ARGV[a + 3]),
    tpm = tonumber(ARGV[a + 4]),
    conc = tonumber(ARGV[a + 5]),
    used = tonumber(redis.call('GET', KEYS[k + 1])),
    held = math.max(0, tonumber(redis.call('GET', KEYS[k + 2]) or '0')),
    inFlight = redis.call('ZCARD', KEYS[k + 3]),
    rc = tonumber(redis.call('GET', KEYS[k + 5]) or '0'),
    rp = tonumber(redis.call('GET', KEYS[k + 6]) or '0'),
    tc = tonumber(redis.call('GET', KEYS[k + 7]) or '0'),
    tp = tonumber(redis.call('GET', KEYS[k + 8]) or '0'),
  }
  local first = redis.call('ZRANGE', KEYS[k + 3], 0, 0, 'WITHSCORES')
  if #first == 2 then s.earliest = tonumber(first[2]) end
  scopes[i] = s
  if reason == 0 then
    if s.quota and s.used + s.held + holdNano > s.quota then
      reason = 1
    elseif s.conc and s.inFlight + 1 > s.conc then
      reason = 2
      retry = ${CONCURRENCY_RETRY_MS}
      if s.earliest and s.earliest - now < retry then retry = math.max(1, s.earliest - now) end
    elseif s.rpm and estimate(s.rp, s.rc) + 1 > s.rpm then
      reason = 3
      retry = retryAfter(s.rpm, s.rp, s.rc, 1)
    elseif s.tpm and estimate(s.tp, s.tc) + tokens > s.tpm then
      reason = 4
      retry = retryAfter(s.tpm, s.tp, s.tc, tokens)
    end
    if reason ~= 0 then refusedAt = i - 1 end
  end
end

local admitted = reason == 0
if admitted then
  for i = 1, n do
    local k = (i - 1) * ${ADMIT_KEYS_PER_SCOPE}
    local held, holds, amts = KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
    local previous = redis.call('HGET', amts, ARGV[5])
    if previous then redis.call('DECRBY', held, previous) end
    redis.call('HSET', amts, ARGV[5], ARGV[3])
    redis.call('INCRBY', held, ARGV[3])
    redis.call('ZADD', holds, ARGV[6], ARGV[5])
    for _, key in ipairs({ held, holds, amts }) do
      if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ARGV[2]) end
    end
    redis.call('INCRBY', KEYS[k + 5], 1)
    redis.call('PEXPIRE', KEYS[k + 5], ${WINDOW_TTL_MS})
    redis.call('INCRBY', KEYS[k + 7], ARGV[4])
    redis.call('PEXPIRE', KEYS[k + 7], ${WINDOW_TTL_MS})
  end
end

local reply = { admitted and 1 or 0, refusedAt, reason, retry }
for i = 1, n do
  local s = scopes[i]
  local rl, rr, rs = window(s.rpm, s.rp, s.rc, 1, admitted)
  local tl, tr, ts = window(s.tpm, s.tp, s.tc, tokens, admitted)
  local held = s.held
  if admitted then held = held + holdNano end
  local hasQuota, remaining = 0, 0
  if s.quota then hasQuota, remaining = 1, s.quota - s.used - held end
  for _, v in ipairs({ rl, rr, rs, tl, tr, ts, hasQuota, remaining, s.used }) do reply[#reply + 1] = v end
end
return reply
`;

/**
 * Ends an admission in each scope. KEYS, per scope: used, held, holds, amts, t:<idx of admittedAt>.
 * ARGV: now, request id, cost nano, tokens delta.
 */
const RELEASE_KEYS_PER_SCOPE = 5;
const RELEASE_LUA = `
${PURGE_HOLDS_LUA}
for i = 1, #KEYS / ${RELEASE_KEYS_PER_SCOPE} do
  local k = (i - 1) * ${RELEASE_KEYS_PER_SCOPE}
  local used, held, holds, amts, tokens = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[k + 5]
  purge(held, holds, amts, ARGV[1])
  if redis.call('ZREM', holds, ARGV[2]) == 1 then
    local amount = redis.call('HGET', amts, ARGV[2])
    if amount then redis.call('DECRBY', held, amount) end
    redis.call('HDEL', amts, ARGV[2])
  end
  tidy(held, holds, amts)
  -- No spend means the state was lost: the next admission re-seeds it from the snapshot.
  if redis.call('EXISTS', used) == 1 then
    redis.call('INCRBY', used, ARGV[3])
    redis.call('PEXPIRE', used, ${SPEND_TTL_MS})
  end
  if redis.call('EXISTS', tokens) == 1 then
    if redis.call('INCRBY', tokens, ARGV[4]) < 0 then redis.call('SET', tokens, '0', 'KEEPTTL') end
  end
end
return 0
`;

/** KEYS[1] = relays zset (member → expiry). ARGV: now, expiry, member, ttlMs. Returns the live count. */
const HEARTBEAT_LUA = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return redis.call('ZCARD', KEYS[1])
`;

/** The client with the scripts registered by `defineCommand` (EVALSHA, falling back to EVAL once). */
type ScriptedRedis = Redis & {
  switchyardCoolDown(key: string, untilMs: string, ttlMs: string): Promise<number>;
  /** Variable key count: the first argument is the number of keys. */
  switchyardAdmit(numKeys: number, ...keysAndArgs: string[]): Promise<number[]>;
  switchyardRelease(numKeys: number, ...keysAndArgs: string[]): Promise<number>;
  switchyardHeartbeat(
    key: string,
    now: string,
    expiry: string,
    member: string,
    ttlMs: string,
  ): Promise<number>;
};

/** An amount as Redis' INCRBY takes it: an integer (a fraction would make the whole script fail). */
const int = (n: number): string => String(Math.round(n));
const limitArg = (limit: number | null): string => (limit === null ? '' : int(limit));
const windowFrom = (limit: number, remaining: number, resetMs: number): WindowState | null =>
  limit < 0 ? null : { limit, remaining, resetMs };

/**
 * Counters, cooldowns, quota holds and rate windows in Redis, shared by every relay.
 *
 * Keys: `<prefix>rr:<key>` holds a counter (INCR); `<prefix>cd:<key>` holds the epoch ms until which
 * a channel-account cools down, with a matching TTL so Redis drops it when it ends; `<prefix>hl:<key>`
 * is a hash of health reports (relay id → JSON), expiring after the last report's TTL.
 *
 * Admission keys, per limit scope `<prefix>q:<scope id>:…`: `used` (spend, nano-USD; seeded from the
 * snapshot with SET NX, 35 days after its last write), `held` (sum of live holds), `holds` (zset request
 * id → expiry) and `amts` (hash request id → hold), which live as long as their longest hold, and
 * `r:<window>` / `t:<window>` (requests and tokens counted in a one-minute window, 2 minutes after their
 * last write). `<prefix>relays` is a zset of relay id → expiry for `heartbeat`. Each of `admit`,
 * `release` and `heartbeat` is one Lua script (one round trip, atomic across all scopes); hold expiries
 * and windows use the request's `now`. Until-timestamps
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
    redis.defineCommand('switchyardAdmit', { lua: ADMIT_LUA });
    redis.defineCommand('switchyardRelease', { lua: RELEASE_LUA });
    redis.defineCommand('switchyardHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT_LUA });
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

  async admit(request: AdmissionRequest): Promise<AdmissionDecision> {
    return (await this.admitWithSpend(request)).decision;
  }

  /** `admit`, also returning each scope's spend after the decision, in the same round trip. */
  async admitWithSpend(request: AdmissionRequest): Promise<AdmissionWithSpend> {
    // Nothing to count against: admitted without a round trip.
    if (request.scopes.length === 0) return { decision: { admitted: true, scopes: [] }, usedNano: [] };
    const idx = windowIndex(request.now);
    const keys: string[] = [];
    const args: string[] = [
      String(request.now),
      String(Math.max(1, Math.ceil(request.ttlMs))),
      int(request.holdNano),
      int(request.tokens),
      request.requestId,
      String(request.now + Math.max(1, Math.ceil(request.ttlMs))),
    ];
    for (const scope of request.scopes) {
      const q = `${this.#prefix}q:${scope.id}:`;
      keys.push(`${q}used`, `${q}held`, `${q}holds`, `${q}amts`);
      keys.push(`${q}r:${idx}`, `${q}r:${idx - 1}`, `${q}t:${idx}`, `${q}t:${idx - 1}`);
      args.push(
        limitArg(scope.quotaNano),
        int(scope.usedNano),
        limitArg(scope.rpmLimit),
        limitArg(scope.tpmLimit),
        limitArg(scope.concurrencyLimit),
      );
    }
    const reply = await this.#redis.switchyardAdmit(keys.length, ...keys, ...args);
    const scopes: ScopeState[] = [];
    const usedNano: number[] = [];
    request.scopes.forEach((scope, i) => {
      const [rl, rr, rs, tl, tr, ts, hasQuota, remaining, used] = reply.slice(
        4 + i * ADMIT_REPLY_PER_SCOPE,
        4 + (i + 1) * ADMIT_REPLY_PER_SCOPE,
      ) as [number, number, number, number, number, number, number, number, number];
      scopes.push({
        id: scope.id,
        requests: windowFrom(rl, rr, rs),
        tokens: windowFrom(tl, tr, ts),
        remainingNano: hasQuota === 1 ? remaining : null,
      });
      usedNano.push(used);
    });
    const [admitted, refusedAt, reason, retryAfterMs] = reply as [number, number, number, number];
    if (admitted === 1) return { decision: { admitted: true, scopes }, usedNano };
    return {
      decision: {
        admitted: false,
        scope: request.scopes[refusedAt]!.id,
        reason: REFUSALS[reason - 1]!,
        retryAfterMs: retryAfterMs < 0 ? null : retryAfterMs,
        scopes,
      },
      usedNano,
    };
  }

  async release(release: AdmissionRelease): Promise<void> {
    if (release.scopes.length === 0) return;
    const idx = windowIndex(release.admittedAt);
    const keys: string[] = [];
    for (const id of release.scopes) {
      const q = `${this.#prefix}q:${id}:`;
      keys.push(`${q}used`, `${q}held`, `${q}holds`, `${q}amts`, `${q}t:${idx}`);
    }
    await this.#redis.switchyardRelease(
      keys.length,
      ...keys,
      String(release.now),
      release.requestId,
      int(release.costNano),
      int(release.tokensDelta),
    );
  }

  async heartbeat(member: string, ttlMs: number): Promise<number> {
    const now = Date.now();
    const ttl = Math.max(1, Math.ceil(ttlMs));
    return this.#redis.switchyardHeartbeat(
      `${this.#prefix}relays`,
      String(now),
      String(now + ttl),
      member,
      String(ttl),
    );
  }

  /** Closes the connection and stops reconnecting. */
  async close(): Promise<void> {
    await closeRedis(this.#redis);
  }
}
