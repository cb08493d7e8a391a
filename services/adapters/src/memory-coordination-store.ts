import type {
  AdmissionDecision,
  AdmissionRelease,
  AdmissionRequest,
  CoordinationStore,
  LimitScope,
} from '@switchyard/core';
import {
  SPEND_TTL_MS,
  WINDOW_TTL_MS,
  scopeRefusal,
  scopeState,
  windowIndex,
  type ScopeCounters,
} from './admission-windows.js';
import type { AdmissionWithSpend } from './resilient-coordination-store.js';

/** A value that the store forgets at `expiresAt` (epoch ms), as a Redis key with a TTL. */
interface Expiring {
  value: number;
  expiresAt: number;
}

/** One scope's admission state, laid out as the Redis store keeps it (`used`, `held`, holds, windows). */
interface ScopeEntry {
  used: Expiring | null;
  held: number;
  /** Request id → its hold. */
  holds: Map<string, { amount: number; expiresAt: number }>;
  /** Window index → requests counted in it. */
  requests: Map<number, Expiring>;
  /** Window index → tokens counted in it. */
  tokens: Map<number, Expiring>;
}

/**
 * Per-process counters and cooldowns: the all-in-one mode's store, and a relay's fallback while
 * Redis is unreachable. Expired cooldowns are dropped lazily, when they are next read or written.
 *
 * Admission state (spend, holds, rate windows) follows the Redis store's layout and expiries exactly,
 * with the arithmetic of `admission-windows.ts`, so both give the same answers; its clock is the
 * `now` of each admission and release. Expired holds, windows and spend are dropped when their scope
 * is next admitted or released; a scope left with no state is forgotten.
 */
export class MemoryCoordinationStore implements CoordinationStore {
  readonly #counters = new Map<string, number>();
  /** Channel-account key → epoch ms until which it cools down. */
  readonly #cooldowns = new Map<string, number>();
  /** Channel-account key → member → report, dropped `ttlMs` after the last report. */
  readonly #health = new Map<string, { members: Map<string, string>; expiresAt: number }>();
  /** Limit scope id → its admission state. */
  readonly #scopes = new Map<string, ScopeEntry>();
  /** Relay id → epoch ms until which it counts as alive. */
  readonly #members = new Map<string, number>();

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

  async admit(request: AdmissionRequest): Promise<AdmissionDecision> {
    return (await this.admitWithSpend(request)).decision;
  }

  /** `admit`, also returning each scope's spend after the decision. */
  async admitWithSpend(request: AdmissionRequest): Promise<AdmissionWithSpend> {
    const { now } = request;
    const entries = request.scopes.map((scope) => this.#prepare(scope, now));
    const counters = entries.map((entry) => countersOf(entry, now));
    let refusedAt = -1;
    let refusal: ReturnType<typeof scopeRefusal> = null;
    for (let i = 0; i < request.scopes.length && refusal === null; i++) {
      refusal = scopeRefusal(request.scopes[i]!, counters[i]!, request);
      if (refusal !== null) refusedAt = i;
    }
    const admitted = refusal === null;
    if (admitted) for (const entry of entries) takeAdmission(entry, request);
    const scopes = request.scopes.map((scope, i) => scopeState(scope, counters[i]!, request, admitted));
    const usedNano = entries.map((entry) => entry.used?.value ?? 0);
    if (refusal === null) return { decision: { admitted: true, scopes }, usedNano };
    return {
      decision: {
        admitted: false,
        scope: request.scopes[refusedAt]!.id,
        reason: refusal.reason,
        retryAfterMs: refusal.retryAfterMs,
        scopes,
      },
      usedNano,
    };
  }

  async release(release: AdmissionRelease): Promise<void> {
    const { now } = release;
    const idx = windowIndex(release.admittedAt);
    for (const id of release.scopes) {
      const entry = this.#scopes.get(id);
      if (entry === undefined) continue;
      purge(entry, now);
      const hold = entry.holds.get(release.requestId);
      if (hold !== undefined) {
        entry.holds.delete(release.requestId);
        entry.held = Math.max(0, entry.held - hold.amount);
        tidy(entry);
      }
      // Absent spend means the state was lost: the next admission re-seeds it from the snapshot.
      if (entry.used !== null)
        entry.used = { value: entry.used.value + release.costNano, expiresAt: now + SPEND_TTL_MS };
      const window = entry.tokens.get(idx);
      if (window !== undefined) window.value = Math.max(0, window.value + release.tokensDelta);
      this.#forgetIfEmpty(id, entry);
    }
  }

  async heartbeat(member: string, ttlMs: number): Promise<number> {
    const now = Date.now();
    this.#members.set(member, now + wholeMs(ttlMs));
    for (const [m, expiresAt] of this.#members) if (expiresAt <= now) this.#members.delete(m);
    return this.#members.size;
  }

  /**
   * Overwrites the scope's spend with `usedNano` (what the shared store last reported), so that an
   * outage of the shared store starts from the real spend rather than the snapshot's settled one.
   */
  seedSpend(scopeId: string, usedNano: number, now: number = Date.now()): void {
    this.#entry(scopeId).used = { value: usedNano, expiresAt: now + SPEND_TTL_MS };
  }

  /** The scope's entry with expired state dropped and its spend seeded from the snapshot when absent. */
  #prepare(scope: LimitScope, now: number): ScopeEntry {
    const entry = this.#entry(scope.id);
    purge(entry, now);
    entry.used ??= { value: scope.usedNano, expiresAt: now + SPEND_TTL_MS };
    return entry;
  }

  #entry(id: string): ScopeEntry {
    let entry = this.#scopes.get(id);
    if (entry === undefined) {
      entry = { used: null, held: 0, holds: new Map(), requests: new Map(), tokens: new Map() };
      this.#scopes.set(id, entry);
    }
    return entry;
  }

  #forgetIfEmpty(id: string, entry: ScopeEntry): void {
    if (
      entry.used === null &&
      entry.holds.size === 0 &&
      entry.requests.size === 0 &&
      entry.tokens.size === 0
    ) {
      this.#scopes.delete(id);
    }
  }
}

/** Drops the entry's expired holds (their amounts leave `held`), windows and spend. */
function purge(entry: ScopeEntry, now: number): void {
  for (const [requestId, hold] of entry.holds) {
    if (hold.expiresAt > now) continue;
    entry.holds.delete(requestId);
    entry.held = Math.max(0, entry.held - hold.amount);
  }
  for (const windows of [entry.requests, entry.tokens]) {
    for (const [idx, window] of windows) if (window.expiresAt <= now) windows.delete(idx);
  }
  if (entry.used !== null && entry.used.expiresAt <= now) entry.used = null;
  tidy(entry);
}

/** With no hold left nothing is held: heals a drifted sum, as the Redis store does. */
function tidy(entry: ScopeEntry): void {
  if (entry.holds.size === 0) entry.held = 0;
}

function countersOf(entry: ScopeEntry, now: number): ScopeCounters {
  const idx = windowIndex(now);
  let earliest: number | null = null;
  for (const hold of entry.holds.values()) {
    if (earliest === null || hold.expiresAt < earliest) earliest = hold.expiresAt;
  }
  return {
    usedNano: entry.used?.value ?? 0,
    heldNano: entry.held,
    inFlight: entry.holds.size,
    earliestHoldExpiry: earliest,
    requests: { prev: entry.requests.get(idx - 1)?.value ?? 0, curr: entry.requests.get(idx)?.value ?? 0 },
    tokens: { prev: entry.tokens.get(idx - 1)?.value ?? 0, curr: entry.tokens.get(idx)?.value ?? 0 },
  };
}

/** Takes the request's hold (replacing one of the same request id) and counts it in both windows. */
function takeAdmission(entry: ScopeEntry, request: AdmissionRequest): void {
  const { now } = request;
  const previous = entry.holds.get(request.requestId);
  if (previous !== undefined) entry.held = Math.max(0, entry.held - previous.amount);
  entry.holds.set(request.requestId, { amount: request.holdNano, expiresAt: now + wholeMs(request.ttlMs) });
  entry.held += request.holdNano;
  const idx = windowIndex(now);
  add(entry.requests, idx, 1, now);
  add(entry.tokens, idx, request.tokens, now);
}

/** A TTL in whole milliseconds, at least 1, as Redis' PEXPIRE takes it. */
function wholeMs(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}

function add(windows: Map<number, Expiring>, idx: number, amount: number, now: number): void {
  const window = windows.get(idx);
  windows.set(idx, { value: (window?.value ?? 0) + amount, expiresAt: now + WINDOW_TTL_MS });
}
