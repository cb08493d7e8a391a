import { matchesModel } from './model-match.js';
import { RATIO_ONE } from './money.js';

/**
 * What one model costs, in nano-USD: token prices per million tokens, plus flat prices per request
 * and per input image. `model` is an exact name or a `*` glob.
 */
export interface ModelPrice {
  model: string;
  /** Per 1M prompt tokens not read from the cache. */
  inputNano: number;
  /** Per 1M completion tokens that are not reasoning tokens. */
  outputNano: number;
  /** Per 1M prompt tokens read from the provider's cache; null = the input price. */
  cachedInputNano: number | null;
  /** Per 1M reasoning tokens; null = the output price. */
  reasoningNano: number | null;
  /** Per request, whatever its tokens (0 for none). */
  perRequestNano: number;
  /** Per image in the request (0 for none). */
  perImageNano: number;
}

/** The token counts a request is billed for (the usage event's fields). */
export interface BilledUsage {
  /** All prompt tokens, cached ones included. */
  promptTokens: number;
  /** Prompt tokens read from the cache (part of promptTokens). */
  cachedTokens: number;
  /** All completion tokens, reasoning included. */
  completionTokens: number;
  /** Completion tokens spent on reasoning (part of completionTokens). */
  reasoningTokens: number;
  /** Images in the request. */
  images: number;
}

/**
 * The price for a request: the first of the client's model and the upstream model that some price
 * matches, exact names before globs and, among globs, the longest pattern first. Null when neither is
 * priced (such requests cost 0 and are shown as unpriced in the admin API).
 */
export function findPrice(
  prices: readonly ModelPrice[],
  model: string,
  upstreamModel: string | null,
): ModelPrice | null {
  for (const name of upstreamModel === null || upstreamModel === model ? [model] : [model, upstreamModel]) {
    let best: ModelPrice | null = null;
    for (const p of prices) {
      if (p.model === name) return p;
      if (p.model.includes('*') && matchesModel(p.model, name)) {
        if (best === null || p.model.length > best.model.length) best = p;
      }
    }
    if (best !== null) return best;
  }
  return null;
}

/**
 * tokens × price × group ratio, in nano-USD, rounded half up once at the end. Computed in BigInt, so
 * it is exact for any token count; counts are clamped to be consistent (cached ≤ prompt, reasoning ≤
 * completion, nothing negative).
 */
export function costNano(price: ModelPrice | null, usage: BilledUsage, ratioPpm: number = RATIO_ONE): number {
  if (price === null) return 0;
  const prompt = Math.max(0, Math.trunc(usage.promptTokens));
  const cached = Math.min(prompt, Math.max(0, Math.trunc(usage.cachedTokens)));
  const completion = Math.max(0, Math.trunc(usage.completionTokens));
  const reasoning = Math.min(completion, Math.max(0, Math.trunc(usage.reasoningTokens)));
  const images = Math.max(0, Math.trunc(usage.images));
  const perMillion =
    BigInt(prompt - cached) * BigInt(price.inputNano) +
    BigInt(cached) * BigInt(price.cachedInputNano ?? price.inputNano) +
    BigInt(completion - reasoning) * BigInt(price.outputNano) +
    BigInt(reasoning) * BigInt(price.reasoningNano ?? price.outputNano) +
    (BigInt(price.perRequestNano) + BigInt(images) * BigInt(price.perImageNano)) * 1_000_000n;
  const scaled = perMillion * BigInt(Math.max(0, Math.trunc(ratioPpm)));
  const divisor = 1_000_000n * BigInt(RATIO_ONE);
  return Number((scaled + divisor / 2n) / divisor);
}
