import { performance } from 'node:perf_hooks';
import { UpstreamError, UpstreamTimeoutError } from '@switchyard/core';
import type { PreparedRequest, ProviderDeps } from '@switchyard/providers';
import type { Candidate } from './routing-table.js';
import type { RelayContext } from './relay-context.js';
import type { RequestState } from './request-state.js';
import { toUpstreamError, type UpstreamResponse, type UpstreamTimeouts } from './upstream-client.js';
import { providerWaitMs } from './cooldown-policy.js';

/** A response worth reading: 2xx, or a 4xx that is the upstream's verdict on the request itself. */
export interface UsableResponse {
  up: UpstreamResponse;
  /** performance.now() when the request was sent. */
  t0: number;
}

/**
 * Sends one prepared upstream request and sorts the outcome: a usable response, a retryable
 * UpstreamError (connect error, timeout, 429, 5xx, 401/403, redirects), or null when the client left.
 */
export async function sendAttempt(
  ctx: RelayContext,
  c: Candidate,
  prepared: PreparedRequest,
  state: RequestState,
  timeouts: UpstreamTimeouts = ctx.options.timeouts,
): Promise<UsableResponse | UpstreamError | null> {
  const channelLabel = String(c.channel.id);
  const t0 = performance.now();
  let up: UpstreamResponse;
  try {
    up = await ctx.upstream.dispatch(prepared, state.clientGone.signal, {
      proxyUrl: c.account.proxyUrl,
      timeouts,
    });
  } catch (err) {
    if (state.clientGone.signal.aborted) return markAborted(state);
    const e = toUpstreamError(err);
    ctx.metrics.upstreamAttempts.inc({
      channel: channelLabel,
      outcome: e instanceof UpstreamTimeoutError ? 'timeout' : 'error',
    });
    return e;
  }
  const status = up.status;
  const outcome = status < 400 ? 'ok' : status === 429 ? 'http_429' : status >= 500 ? 'http_5xx' : 'http_4xx';
  ctx.metrics.upstreamDuration.observe({ channel: channelLabel, outcome }, (performance.now() - t0) / 1000);
  ctx.metrics.upstreamAttempts.inc({ channel: channelLabel, outcome });

  if (status === 429 || status >= 500) {
    const detail = await up.body.text().catch(() => '');
    // 503 and Anthropic's 529 mean "overloaded": the client may retry later, so they stay 503.
    const unavailable = status === 503 || status === 529;
    return new UpstreamError(`The upstream answered HTTP ${status}.`, {
      retryable: true,
      upstreamStatus: status,
      cooldownMs: providerWaitMs(up.headers, detail),
      status: unavailable ? 503 : 502,
      code:
        status === 429 ? 'upstream_rate_limited' : unavailable ? 'upstream_unavailable' : 'upstream_error',
      cause: detail.slice(0, 500),
    });
  }
  if (status === 401 || status === 403 || (status >= 300 && status < 400)) {
    // 401/403 reject the gateway's account credential, not the caller's key: relaying them would tell
    // the client its own key is wrong. Another account may work; if none does, the client gets a 502.
    await up.body.dump().catch(() => undefined);
    const auth = status >= 400;
    if (auth) {
      ctx.logger.error(
        {
          request_id: state.requestId,
          channel_id: c.channel.id,
          account_id: c.account.id,
          upstream_status: status,
        },
        'upstream rejected the account credential',
      );
    }
    return new UpstreamError(
      auth
        ? `The upstream rejected the gateway's credentials for this channel (HTTP ${status}).`
        : `The upstream answered with a redirect (HTTP ${status}); check the channel's base_url.`,
      { retryable: true, upstreamStatus: status, code: auth ? 'upstream_auth_failed' : 'upstream_redirect' },
    );
  }
  return { up, t0 };
}

/** What providers may use besides the call: the clock and the relay's own HTTP client for token exchanges. */
export function providerDeps(ctx: RelayContext): ProviderDeps {
  return {
    now: Date.now,
    postForm: (url, form, signal) => ctx.upstream.postForm(url, form, signal),
    postJson: (url, body, headers, signal) => ctx.upstream.postJson(url, body, headers, signal),
  };
}

export function markAborted(state: RequestState): null {
  state.status = 'aborted';
  state.error = 'client_closed';
  return null;
}

export const TIMEOUT = Symbol('timeout');

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(TIMEOUT), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
