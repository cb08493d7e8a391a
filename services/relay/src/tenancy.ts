import type { ServerResponse } from 'node:http';
import {
  QuotaExceededError,
  RATIO_ONE,
  RateLimitedError,
  costNano,
  findPrice,
  type AdmissionDecision,
  type ConfigSnapshot,
  type KeyRecord,
  type LimitScope,
  type ModelPrice,
  type ScopeState,
  type UserRecord,
  type WindowState,
} from '@switchyard/core';
import { estimatePromptTokens, maxOutputTokens, type ClientFormat } from '@switchyard/providers';
import type { Caller } from './key-authenticator.js';
import type { RelayContext } from './relay-context.js';
import type { RequestState } from './request-state.js';

/** Prices and group ratios of the current snapshot: what a request costs. */
export class Tariff {
  #prices: readonly ModelPrice[] = [];
  #ratios = new Map<string, number>();

  update(snapshot: ConfigSnapshot): void {
    this.#prices = snapshot.prices;
    this.#ratios = new Map(snapshot.groups.map((g) => [g.name, g.ratioPpm]));
  }

  price(model: string, upstreamModel: string | null): ModelPrice | null {
    return findPrice(this.#prices, model, upstreamModel);
  }

  /** A group's ratio in ppm; groups the snapshot does not list bill at list price. */
  ratio(group: string): number {
    return this.#ratios.get(group) ?? RATIO_ONE;
  }

  /** tokens × price × the group's ratio, nano-USD. */
  cost(
    model: string,
    upstreamModel: string | null,
    group: string,
    usage: {
      promptTokens: number;
      completionTokens: number;
      cachedTokens?: number;
      reasoningTokens?: number;
      images?: number;
    },
  ): number {
    return costNano(
      this.price(model, upstreamModel),
      {
        promptTokens: usage.promptTokens,
        completionTokens: usage.completionTokens,
        cachedTokens: usage.cachedTokens ?? 0,
        reasoningTokens: usage.reasoningTokens ?? 0,
        images: usage.images ?? 0,
      },
      this.ratio(group),
    );
  }
}

/** What an admitted request holds in the coordination store until it ends. */
export interface Hold {
  scopes: string[];
  holdNano: number;
  /** Tokens counted in the token windows at admission. */
  tokens: number;
  admittedAt: number;
}

/** The scopes (key, then user) whose limits a caller's requests count against; empty when unlimited. */
export function limitScopes(caller: Caller): LimitScope[] {
  const out: LimitScope[] = [];
  const k = caller.key;
  if (limited(k)) out.push(scopeOf(`k:${k.id}:${k.createdAt}`, k));
  const u = caller.user;
  if (u !== null && limited(u)) out.push(scopeOf(`u:${u.id}:${u.createdAt}`, u));
  return out;
}

function limited(r: KeyRecord | UserRecord): boolean {
  return r.quotaNano !== null || r.rpmLimit !== null || r.tpmLimit !== null || r.concurrencyLimit !== null;
}

function scopeOf(id: string, r: KeyRecord | UserRecord): LimitScope {
  return {
    id,
    quotaNano: r.quotaNano,
    usedNano: r.usedNano,
    rpmLimit: r.rpmLimit,
    tpmLimit: r.tpmLimit,
    concurrencyLimit: r.concurrencyLimit,
  };
}

/**
 * Admission for quotas and rate limits, before any upstream call: the request's prompt is counted
 * with the local tokenizer, its max output (capped) is added, and the cost of both is held against the
 * key and its user, with one request and the tokens counted in their windows, in one atomic step of
 * the coordination store. A caller without limits costs nothing here (no store call). Refusals are a
 * 402 (quota) or a 429 with `Retry-After` (windows, concurrency), with `x-ratelimit-*` headers.
 */
export async function admitCaller(
  ctx: RelayContext,
  res: ServerResponse,
  state: RequestState,
  caller: Caller,
  format: ClientFormat,
  body: Record<string, unknown>,
  model: string,
): Promise<Hold | null> {
  const scopes = limitScopes(caller);
  if (scopes.length === 0) return null;
  const needsTokens = scopes.some((s) => s.quotaNano !== null || s.tpmLimit !== null);
  let prompt = 0;
  let images = 0;
  let maxOut = 0;
  if (needsTokens) {
    const est = await estimatePromptTokens(format, body, model);
    prompt = est.tokens;
    images = est.images;
    const asked = maxOutputTokens(format, body);
    maxOut = Math.min(asked ?? ctx.options.holdMaxOutputTokens, ctx.options.holdMaxOutputTokens);
  }
  state.promptEstimate = prompt;
  state.images = images;
  const holdNano = scopes.some((s) => s.quotaNano !== null)
    ? ctx.tariff.cost(model, null, caller.key.group, {
        promptTokens: prompt,
        completionTokens: maxOut,
        images,
      })
    : 0;
  const now = Date.now();
  const decision = await ctx.coordination.admit({
    requestId: state.requestId,
    now,
    ttlMs: ctx.options.holdTtlMs,
    holdNano,
    tokens: prompt + maxOut,
    scopes,
  });
  setRateLimitHeaders(res, decision.scopes);
  if (!decision.admitted) {
    ctx.metrics.admissionRefusals.inc({
      scope: decision.scope.startsWith('u:') ? 'user' : 'key',
      reason: decision.reason,
    });
    throw refusal(decision);
  }
  return { scopes: scopes.map((s) => s.id), holdNano, tokens: prompt + maxOut, admittedAt: now };
}

function refusal(d: Extract<AdmissionDecision, { admitted: false }>): Error {
  const who = d.scope.startsWith('u:') ? "This API key's user" : 'This API key';
  switch (d.reason) {
    case 'quota':
      return new QuotaExceededError(
        `${who} has not enough quota left for this request. Ask for a top-up, or lower max_tokens.`,
      );
    case 'rpm':
      return new RateLimitedError(
        `${who} reached its requests-per-minute limit.`,
        d.retryAfterMs,
        undefined,
        'rate_limit_requests',
      );
    case 'tpm':
      return new RateLimitedError(
        `${who} reached its tokens-per-minute limit.`,
        d.retryAfterMs,
        undefined,
        'rate_limit_tokens',
      );
    case 'concurrency':
      return new RateLimitedError(
        `${who} has too many requests in flight.`,
        d.retryAfterMs,
        undefined,
        'concurrency_limit',
      );
  }
}

/** OpenAI's headers, for the tightest window among the scopes (key or user). */
function setRateLimitHeaders(res: ServerResponse, scopes: readonly ScopeState[]): void {
  const requests = tightest(scopes.map((s) => s.requests));
  const tokens = tightest(scopes.map((s) => s.tokens));
  if (requests !== null) {
    res.setHeader('x-ratelimit-limit-requests', String(requests.limit));
    res.setHeader('x-ratelimit-remaining-requests', String(requests.remaining));
    res.setHeader('x-ratelimit-reset-requests', formatDuration(requests.resetMs));
  }
  if (tokens !== null) {
    res.setHeader('x-ratelimit-limit-tokens', String(tokens.limit));
    res.setHeader('x-ratelimit-remaining-tokens', String(tokens.remaining));
    res.setHeader('x-ratelimit-reset-tokens', formatDuration(tokens.resetMs));
  }
}

function tightest(windows: ReadonlyArray<WindowState | null>): WindowState | null {
  let best: WindowState | null = null;
  for (const w of windows) if (w !== null && (best === null || w.remaining < best.remaining)) best = w;
  return best;
}

/** Durations as OpenAI writes them in `x-ratelimit-reset-*`: `20ms`, `1s`, `6m0s`, `1h2m3s`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total < 1000) return `${total}ms`;
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = (total % 60_000) / 1000;
  const sec = `${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, '')}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}
