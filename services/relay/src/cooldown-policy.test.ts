import { describe, expect, it } from 'vitest';
import { backoffMs, cooldownFor, goDuration, MAX_COOLDOWN_MS, providerWaitMs } from './cooldown-policy.js';

const NOW = Date.parse('2026-12-01T10:00:00Z');

describe('providerWaitMs', () => {
  it('when retry-after-ms is given, then it wins over retry-after', () => {
    expect(providerWaitMs({ 'retry-after-ms': '1500', 'retry-after': '9' }, '', NOW)).toBe(1500);
  });

  it('when retry-after is seconds or an HTTP date, then it is read as milliseconds from now', () => {
    expect(providerWaitMs({ 'retry-after': '2' }, '', NOW)).toBe(2000);
    expect(providerWaitMs({ 'retry-after': 'Tue, 01 Dec 2026 10:00:30 GMT' }, '', NOW)).toBe(30_000);
  });

  it("when OpenAI's request limit is exhausted, then its reset duration is the wait", () => {
    const h = {
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '6m0s',
      'x-ratelimit-remaining-tokens': '1000',
      'x-ratelimit-reset-tokens': '1h',
    };
    expect(providerWaitMs(h, '', NOW)).toBe(360_000);
  });

  it("when Anthropic's token limit is exhausted, then the time to its reset instant is the wait", () => {
    const h = {
      'anthropic-ratelimit-requests-remaining': '10',
      'anthropic-ratelimit-requests-reset': '2026-12-01T10:59:00Z',
      'anthropic-ratelimit-input-tokens-remaining': '0',
      'anthropic-ratelimit-input-tokens-reset': '2026-12-01T10:00:12Z',
    };
    expect(providerWaitMs(h, '', NOW)).toBe(12_000);
  });

  it("when Gemini's error body carries RetryInfo, then its retryDelay is the wait", () => {
    const body = JSON.stringify({
      error: {
        code: 429,
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '17s' }],
      },
    });
    expect(providerWaitMs({}, body, NOW)).toBe(17_000);
  });

  it('when nothing says how long, then there is no wait', () => {
    expect(providerWaitMs({ 'x-ratelimit-reset-requests': '1s' }, '{}', NOW)).toBeNull();
  });
});

describe('back-off', () => {
  it('doubles from 1 s per consecutive failure and stops at 60 s', () => {
    expect([1, 2, 3, 4, 7, 8, 50].map(backoffMs)).toEqual([1000, 2000, 4000, 8000, 60_000, 60_000, 60_000]);
  });

  it('caps a provider wait at the maximum cooldown and falls back to the back-off without one', () => {
    expect(cooldownFor(10 * MAX_COOLDOWN_MS, 1)).toBe(MAX_COOLDOWN_MS);
    expect(cooldownFor(null, 3)).toBe(4000);
    expect(cooldownFor(2000, 9)).toBe(2000);
  });

  it('reads Go durations and refuses garbage', () => {
    expect(goDuration('1h2m3.5s')).toBe(3_723_500);
    expect(goDuration('20ms')).toBe(20);
    expect(goDuration('soon')).toBeNull();
  });
});
