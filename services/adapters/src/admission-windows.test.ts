import { describe, expect, it } from 'vitest';
import {
  WINDOW_MS,
  scopeRefusal,
  slidingEstimate,
  windowAdmits,
  windowResetMs,
  windowRetryAfterMs,
  windowState,
  type ScopeCounters,
  type WindowCounts,
} from './admission-windows.js';

const START = 1_000_000 * WINDOW_MS;

/** The estimate at `t` if nothing more arrives after the counts seen at `now`. */
function estimateLater(counts: WindowCounts, now: number, t: number): number {
  const windows = Math.floor(t / WINDOW_MS) - Math.floor(now / WINDOW_MS);
  if (windows === 0) return slidingEstimate(counts, t);
  if (windows === 1) return slidingEstimate({ prev: counts.curr, curr: 0 }, t);
  return 0;
}

describe('sliding window arithmetic', () => {
  it('when a window is half over, then the previous window counts half', () => {
    expect(slidingEstimate({ prev: 10, curr: 3 }, START + 30_000)).toBe(8);
    expect(slidingEstimate({ prev: 10, curr: 3 }, START)).toBe(13);
    expect(slidingEstimate({ prev: 0, curr: 0 }, START + 59_999)).toBe(0);
  });

  it('when a request is refused, then retry-after is the first millisecond at which it would fit', () => {
    const cases: Array<[limit: number, prev: number, curr: number, cost: number, offset: number]> = [
      [10, 10, 5, 1, 30_000],
      [60, 0, 60, 1, 0],
      [60, 37, 59, 1, 12_345],
      [1_000, 0, 600, 500, 0],
      [1_000, 900, 100, 300, 1],
      [7, 7, 7, 1, 59_999],
      [3, 2, 2, 1, 20_000],
    ];
    for (const [limit, prev, curr, cost, offset] of cases) {
      const counts = { prev, curr };
      const now = START + offset;
      expect(windowAdmits(limit, counts, cost, now), `case ${limit}/${prev}/${curr}`).toBe(false);
      const retry = windowRetryAfterMs(limit, counts, cost, now);
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(estimateLater(counts, now, now + retry) + cost).toBeLessThanOrEqual(limit);
      if (retry > 1) expect(estimateLater(counts, now, now + retry - 1) + cost).toBeGreaterThan(limit);
    }
  });

  it('when a request alone exceeds the limit, then a whole window is suggested', () => {
    expect(windowRetryAfterMs(100, { prev: 0, curr: 0 }, 101, START)).toBe(WINDOW_MS);
  });

  it('when counts are in the current window, then the reset is the end of the next one', () => {
    expect(windowResetMs({ prev: 5, curr: 1 }, START + 10_000)).toBe(110_000);
    expect(windowResetMs({ prev: 5, curr: 0 }, START + 10_000)).toBe(50_000);
    expect(windowResetMs({ prev: 0, curr: 0 }, START + 10_000)).toBe(0);
  });

  it('when admitted, then remaining counts this request and is floored; when refused, it is 0', () => {
    expect(windowState(10, { prev: 10, curr: 3 }, 1, START + 30_000, true)).toEqual({
      limit: 10,
      remaining: 1,
      resetMs: 90_000,
    });
    expect(windowState(10, { prev: 3, curr: 0 }, 1, START + 30_000, true).remaining).toBe(7);
    expect(windowState(10, { prev: 10, curr: 3 }, 1, START + 30_000, false)).toEqual({
      limit: 10,
      remaining: 0,
      resetMs: 90_000,
    });
  });
});

describe('scope refusal order', () => {
  const counters: ScopeCounters = {
    usedNano: 900,
    heldNano: 100,
    inFlight: 2,
    earliestHoldExpiry: START + 400,
    requests: { prev: 0, curr: 5 },
    tokens: { prev: 0, curr: 500 },
  };
  const scope = {
    id: 'k:1:1',
    quotaNano: 1_000,
    usedNano: 0,
    rpmLimit: 5,
    tpmLimit: 500,
    concurrencyLimit: 2,
  };
  const cost = { now: START, holdNano: 1, tokens: 1 };

  it('when every limit is hit, then quota refuses first, then concurrency, requests and tokens', () => {
    expect(scopeRefusal(scope, counters, cost)).toEqual({ reason: 'quota', retryAfterMs: null });
    expect(scopeRefusal({ ...scope, quotaNano: null }, counters, cost)).toEqual({
      reason: 'concurrency',
      retryAfterMs: 400,
    });
    expect(scopeRefusal({ ...scope, quotaNano: null, concurrencyLimit: null }, counters, cost)).toMatchObject(
      {
        reason: 'rpm',
      },
    );
    expect(
      scopeRefusal({ ...scope, quotaNano: null, concurrencyLimit: null, rpmLimit: null }, counters, cost),
    ).toMatchObject({ reason: 'tpm' });
    expect(
      scopeRefusal(
        { ...scope, quotaNano: null, concurrencyLimit: null, rpmLimit: null, tpmLimit: null },
        counters,
        cost,
      ),
    ).toBeNull();
  });
});
