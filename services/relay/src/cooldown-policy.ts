import { headerValue } from './header-value.js';

type Headers = Record<string, string | string[] | undefined>;

/**
 * Why 1 hour: a provider's reset hint beyond that is a bug or a daily quota; an account benched for
 * longer than an hour should be looked at by an admin (its health shows the cooldown), not forgotten.
 */
export const MAX_COOLDOWN_MS = 60 * 60_000;
/** Why 1 s doubling to 60 s: a blip costs a second, a dead upstream is retried about once a minute. */
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_CAP_MS = 60_000;

/**
 * How long the provider asks us to wait, from its rate-limit headers: `retry-after-ms` (OpenAI),
 * `retry-after` (seconds or an HTTP date), OpenAI's `x-ratelimit-reset-{requests,tokens}` durations
 * (`6m0s`, `1.5s`, `20ms`) for the exhausted limit, Anthropic's `anthropic-ratelimit-*-reset` RFC 3339
 * instants for the exhausted limit; or Gemini's `RetryInfo.retryDelay` (`"30s"`) in the error body.
 * Null when none is given.
 */
export function providerWaitMs(headers: Headers, body: string, now = Date.now()): number | null {
  const ms = Number(headerValue(headers['retry-after-ms']));
  if (Number.isFinite(ms) && ms > 0) return Math.round(ms);
  const retryAfter = retryAfterMs(headers['retry-after'], now);
  if (retryAfter !== null) return retryAfter;

  let best: number | null = null;
  const consider = (v: number | null) => {
    if (v !== null && v > 0 && (best === null || v > best)) best = v;
  };
  for (const limit of ['requests', 'tokens']) {
    if (exhausted(headers[`x-ratelimit-remaining-${limit}`])) {
      consider(goDuration(headerValue(headers[`x-ratelimit-reset-${limit}`])));
    }
  }
  for (const limit of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
    if (exhausted(headers[`anthropic-ratelimit-${limit}-remaining`])) {
      const at = Date.parse(headerValue(headers[`anthropic-ratelimit-${limit}-reset`]) ?? '');
      if (!Number.isNaN(at)) consider(at - now);
    }
  }
  if (best !== null) return best;
  const delay = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(body);
  return delay === null ? null : Math.round(Number(delay[1]) * 1000);
}

/** Exponential back-off for the `n`-th consecutive failure (1-based). */
export function backoffMs(n: number): number {
  return Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, Math.min(n - 1, 16)));
}

/** A provider wait or the back-off, capped. */
export function cooldownFor(wait: number | null, consecutiveFailures: number): number {
  return Math.min(MAX_COOLDOWN_MS, wait ?? backoffMs(consecutiveFailures));
}

function exhausted(v: string | string[] | undefined): boolean {
  const s = headerValue(v);
  return s !== undefined && Number(s) === 0;
}

/** Go-style durations as OpenAI sends them: `1h2m3.5s`, `6m0s`, `20ms`. */
export function goDuration(s: string | undefined): number | null {
  if (s === undefined || s === '') return null;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : n;
    consumed += m[0].length;
  }
  return consumed === s.length ? Math.round(total) : null;
}

/** Retry-After as seconds or an HTTP date, in milliseconds; null when absent or unparsable. */
export function retryAfterMs(v: string | string[] | undefined, now = Date.now()): number | null {
  const s = headerValue(v);
  if (s === undefined) return null;
  const secs = Number(s);
  if (Number.isFinite(secs) && secs >= 0) return Math.round(secs * 1000);
  const at = Date.parse(s);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
