import type { AdmissionRefusal, LimitScope, ScopeState, WindowState } from '@switchyard/core';

/**
 * The decision arithmetic of admission, shared by every `CoordinationStore` so that process memory and
 * Redis give identical answers. Pure: the stores read their counters, ask these functions, and apply
 * the result. The Redis store's Lua script mirrors these functions line by line (same operations in
 * the same order, so the same IEEE doubles); a change here must be made there too, and the contract
 * suite runs both.
 */

/** Rate windows are one minute long: limits are per minute. */
export const WINDOW_MS = 60_000;
/**
 * Why 2 minutes: a window is read while it is current and during the next one (as the previous
 * window of the sliding estimate), so a count written at any moment of its window outlives both.
 */
export const WINDOW_TTL_MS = 2 * WINDOW_MS;
/**
 * Why 1 s: a slot frees when some request in flight ends, which the store cannot foresee; a client
 * told to come back in a second neither hammers nor waits long. Earlier when a hold expires sooner.
 */
export const CONCURRENCY_RETRY_MS = 1_000;
/**
 * Why 35 days: a scope's live spend outlives a monthly quota period with slack; a scope idle for
 * longer starts again from the snapshot's settled spend, which by then is complete.
 */
export const SPEND_TTL_MS = 35 * 24 * 60 * 60 * 1_000;

/** The index of the window `now` falls in. */
export function windowIndex(now: number): number {
  return Math.floor(now / WINDOW_MS);
}

/** A sliding window's counts: the previous window's total and the current one's so far. */
export interface WindowCounts {
  prev: number;
  curr: number;
}

/**
 * The sliding-window estimate at `now`: the previous window weighted by how much of it still
 * overlaps the last minute, plus the current window.
 */
export function slidingEstimate(counts: WindowCounts, now: number): number {
  const left = WINDOW_MS - (now - windowIndex(now) * WINDOW_MS);
  // Multiplied before divided: whole counts at whole milliseconds stay exact where they can.
  return (counts.prev * left) / WINDOW_MS + counts.curr;
}

/** Whether a request costing `cost` (1 request, or its tokens) fits the window's `limit` at `now`. */
export function windowAdmits(limit: number, counts: WindowCounts, cost: number, now: number): boolean {
  return !(slidingEstimate(counts, now) + cost > limit);
}

/**
 * Milliseconds until the estimate would admit a request costing `cost` if nothing else arrived (at
 * least 1). A request larger than the limit never fits: one full window is suggested.
 */
export function windowRetryAfterMs(limit: number, counts: WindowCounts, cost: number, now: number): number {
  if (cost > limit) return WINDOW_MS;
  const start = windowIndex(now) * WINDOW_MS;
  let at: number;
  if (counts.curr + cost <= limit) {
    // Only reached when refused, so the previous window has counts; the guard keeps a stray call finite.
    if (counts.prev <= 0) return 1;
    // Fits within this window, once enough of the previous window has slid out.
    at = start + WINDOW_MS - ((limit - counts.curr - cost) * WINDOW_MS) / counts.prev;
  } else {
    // Only in the next window, once enough of this window (then the previous one) has slid out.
    at = start + 2 * WINDOW_MS - ((limit - cost) * WINDOW_MS) / counts.curr;
  }
  return Math.max(1, Math.ceil(at - now));
}

/** Milliseconds until the estimate is 0 again: the end of the next window while the current one has counts. */
export function windowResetMs(counts: WindowCounts, now: number): number {
  const idx = windowIndex(now);
  if (counts.curr > 0) return (idx + 2) * WINDOW_MS - now;
  if (counts.prev > 0) return (idx + 1) * WINDOW_MS - now;
  return 0;
}

/**
 * A window as the headers show it. Admitted: the request's `cost` is counted; refused: remaining 0
 * and the counts as they stand.
 */
export function windowState(
  limit: number,
  counts: WindowCounts,
  cost: number,
  now: number,
  admitted: boolean,
): WindowState {
  if (!admitted) return { limit, remaining: 0, resetMs: windowResetMs(counts, now) };
  const remaining = Math.max(0, Math.floor(limit - (slidingEstimate(counts, now) + cost)));
  return { limit, remaining, resetMs: windowResetMs({ prev: counts.prev, curr: counts.curr + cost }, now) };
}

/** What a store knows about one scope at the moment of a decision (expired holds already purged). */
export interface ScopeCounters {
  /** The store's spend for the scope (seeded from the snapshot when it had none), nano-USD. */
  usedNano: number;
  /** The sum of the live holds, nano-USD. */
  heldNano: number;
  /** The number of live holds: requests in flight. */
  inFlight: number;
  /** The earliest expiry (epoch ms) of a live hold; null when there is none. */
  earliestHoldExpiry: number | null;
  requests: WindowCounts;
  tokens: WindowCounts;
}

/** The cost of a request in each dimension, and when it is asked. */
export interface AdmissionCost {
  now: number;
  holdNano: number;
  tokens: number;
}

/** Why a scope refuses a request and when trying again may succeed; null when it admits it. */
export interface ScopeRefusal {
  reason: AdmissionRefusal;
  retryAfterMs: number | null;
}

/** Checks one scope in the order quota, concurrency, requests, tokens; the first limit hit refuses. */
export function scopeRefusal(scope: LimitScope, c: ScopeCounters, cost: AdmissionCost): ScopeRefusal | null {
  if (scope.quotaNano !== null && c.usedNano + c.heldNano + cost.holdNano > scope.quotaNano) {
    return { reason: 'quota', retryAfterMs: null };
  }
  if (scope.concurrencyLimit !== null && c.inFlight + 1 > scope.concurrencyLimit) {
    let retryAfterMs = CONCURRENCY_RETRY_MS;
    if (c.earliestHoldExpiry !== null && c.earliestHoldExpiry - cost.now < retryAfterMs) {
      retryAfterMs = Math.max(1, c.earliestHoldExpiry - cost.now);
    }
    return { reason: 'concurrency', retryAfterMs };
  }
  if (scope.rpmLimit !== null && !windowAdmits(scope.rpmLimit, c.requests, 1, cost.now)) {
    return { reason: 'rpm', retryAfterMs: windowRetryAfterMs(scope.rpmLimit, c.requests, 1, cost.now) };
  }
  if (scope.tpmLimit !== null && !windowAdmits(scope.tpmLimit, c.tokens, cost.tokens, cost.now)) {
    return {
      reason: 'tpm',
      retryAfterMs: windowRetryAfterMs(scope.tpmLimit, c.tokens, cost.tokens, cost.now),
    };
  }
  return null;
}

/**
 * One scope's state after the decision, from its counters before it: when `admitted`, this request's
 * hold, one request and its tokens are counted.
 */
export function scopeState(
  scope: LimitScope,
  c: ScopeCounters,
  cost: AdmissionCost,
  admitted: boolean,
): ScopeState {
  const held = admitted ? c.heldNano + cost.holdNano : c.heldNano;
  return {
    id: scope.id,
    requests: scope.rpmLimit === null ? null : windowState(scope.rpmLimit, c.requests, 1, cost.now, admitted),
    tokens:
      scope.tpmLimit === null ? null : windowState(scope.tpmLimit, c.tokens, cost.tokens, cost.now, admitted),
    remainingNano: scope.quotaNano === null ? null : scope.quotaNano - c.usedNano - held,
  };
}
