import type { CanonicalUsage } from '../../canonical/types.js';

/** Token counts as OpenAI reports them. */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** `prompt_tokens_details.cached_tokens`, when reported (part of promptTokens). */
  cachedTokens?: number;
  /** `completion_tokens_details.reasoning_tokens`, when reported (part of completionTokens). */
  reasoningTokens?: number;
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0;
}

function detail(details: unknown, key: string): number | undefined {
  if (details === null || typeof details !== 'object') return undefined;
  const v = (details as Record<string, unknown>)[key];
  return v === undefined || v === null ? undefined : count(v);
}

/** Reads an OpenAI `usage` object; null when absent or not an object. */
export function readOpenAIUsage(usage: unknown): TokenUsage | null {
  if (usage === null || typeof usage !== 'object') return null;
  const u = usage as Record<string, unknown>;
  const promptTokens = count(u.prompt_tokens);
  const completionTokens = count(u.completion_tokens);
  const totalTokens = u.total_tokens === undefined ? promptTokens + completionTokens : count(u.total_tokens);
  const out: TokenUsage = { promptTokens, completionTokens, totalTokens };
  const cachedTokens = detail(u.prompt_tokens_details, 'cached_tokens');
  if (cachedTokens !== undefined) out.cachedTokens = cachedTokens;
  const reasoningTokens = detail(u.completion_tokens_details, 'reasoning_tokens');
  if (reasoningTokens !== undefined) out.reasoningTokens = reasoningTokens;
  return out;
}

/** OpenAI usage in canonical terms (both count cached prompt tokens as prompt tokens). */
export function canonicalUsageOf(u: TokenUsage): CanonicalUsage {
  return {
    inputTokens: u.promptTokens,
    outputTokens: u.completionTokens,
    cachedInputTokens: u.cachedTokens ?? 0,
    cacheCreationInputTokens: 0,
    reasoningTokens: u.reasoningTokens ?? 0,
  };
}

/** OpenAI Chat's `usage` object for canonical usage. */
export interface OpenAIUsageBody {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

/** Canonical usage as OpenAI reports it; `total_tokens` is prompt + completion. */
export function renderOpenAIUsage(u: CanonicalUsage): OpenAIUsageBody {
  return {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
  };
}
