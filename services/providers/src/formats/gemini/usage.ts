import { isObject } from '../../canonical/json-fields.js';
import type { CanonicalUsage } from '../../canonical/types.js';
import type { GeminiUsageMetadata } from './types.js';

function count(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

/**
 * Gemini's `usageMetadata` as canonical usage, or null when it is absent. Gemini's
 * `candidatesTokenCount` excludes `thoughtsTokenCount`, so canonical output is their sum; the tokens
 * of tool-use prompts (`toolUsePromptTokenCount`) are prompt tokens.
 */
export function usageFromGemini(metadata: unknown): CanonicalUsage | null {
  if (!isObject(metadata)) return null;
  const reasoning = count(metadata, 'thoughtsTokenCount');
  return {
    inputTokens: count(metadata, 'promptTokenCount') + count(metadata, 'toolUsePromptTokenCount'),
    outputTokens: count(metadata, 'candidatesTokenCount') + reasoning,
    cachedInputTokens: count(metadata, 'cachedContentTokenCount'),
    cacheCreationInputTokens: 0,
    reasoningTokens: reasoning,
  };
}

/** Canonical usage as Gemini's `usageMetadata`; the cache and thought counts only when non-zero. */
export function usageToGemini(usage: CanonicalUsage): GeminiUsageMetadata {
  const out: GeminiUsageMetadata = {
    promptTokenCount: usage.inputTokens,
    candidatesTokenCount: Math.max(0, usage.outputTokens - usage.reasoningTokens),
    totalTokenCount: usage.inputTokens + usage.outputTokens,
  };
  if (usage.cachedInputTokens > 0) out.cachedContentTokenCount = usage.cachedInputTokens;
  if (usage.reasoningTokens > 0) out.thoughtsTokenCount = usage.reasoningTokens;
  return out;
}
