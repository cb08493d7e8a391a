import type { ExpectedCompletion } from './deterministic-completion.js';

/**
 * How the deterministic answer's usage and stop reason read in each wire format; the routes build
 * their answers with these, and tests compute expected bodies with them. `cachedTokens` is the
 * number requested (instance option `cachedTokens` or header `x-mock-cached-tokens`); it is capped
 * at the prompt tokens. Optional fields appear only when non-zero, so answers without cache or
 * reasoning keep their plain shape.
 */

/** The cached prompt tokens actually reported: the requested number, floored and capped at the prompt. */
export function cachedTokensFor(exp: ExpectedCompletion, cachedTokens: number): number {
  if (!(cachedTokens > 0)) return 0;
  return Math.min(Math.floor(cachedTokens), exp.promptTokens);
}

/** OpenAI Chat `usage`: cached tokens inside prompt_tokens, reasoning inside completion_tokens. */
export function openaiUsage(exp: ExpectedCompletion, cachedTokens = 0): Record<string, unknown> {
  const cached = cachedTokensFor(exp, cachedTokens);
  const usage: Record<string, unknown> = {
    prompt_tokens: exp.promptTokens,
    completion_tokens: exp.completionTokens,
    total_tokens: exp.promptTokens + exp.completionTokens,
  };
  if (cached > 0) usage.prompt_tokens_details = { cached_tokens: cached };
  if (exp.reasoningTokens > 0) usage.completion_tokens_details = { reasoning_tokens: exp.reasoningTokens };
  return usage;
}

/** Anthropic `usage`: input_tokens excludes the cache reads, reported as cache_read_input_tokens. */
export function anthropicUsage(exp: ExpectedCompletion, cachedTokens = 0): Record<string, unknown> {
  const cached = cachedTokensFor(exp, cachedTokens);
  const usage: Record<string, unknown> = {
    input_tokens: exp.promptTokens - cached,
    output_tokens: exp.completionTokens,
  };
  if (cached > 0) {
    usage.cache_creation_input_tokens = 0;
    usage.cache_read_input_tokens = cached;
  }
  return usage;
}

/** Gemini `usageMetadata`: candidatesTokenCount excludes thoughtsTokenCount; cached inside the prompt. */
export function geminiUsageMetadata(exp: ExpectedCompletion, cachedTokens = 0): Record<string, unknown> {
  const cached = cachedTokensFor(exp, cachedTokens);
  const usage: Record<string, unknown> = {
    promptTokenCount: exp.promptTokens,
    candidatesTokenCount: exp.completionTokens - exp.reasoningTokens,
    totalTokenCount: exp.promptTokens + exp.completionTokens,
  };
  if (exp.reasoningTokens > 0) usage.thoughtsTokenCount = exp.reasoningTokens;
  if (cached > 0) usage.cachedContentTokenCount = cached;
  return usage;
}

/** Bedrock Converse `usage`: like Anthropic, inputTokens excludes the cache reads; totalTokens has all. */
export function converseUsage(exp: ExpectedCompletion, cachedTokens = 0): Record<string, unknown> {
  const cached = cachedTokensFor(exp, cachedTokens);
  const usage: Record<string, unknown> = {
    inputTokens: exp.promptTokens - cached,
    outputTokens: exp.completionTokens,
    totalTokens: exp.promptTokens + exp.completionTokens,
  };
  if (cached > 0) {
    usage.cacheReadInputTokens = cached;
    usage.cacheWriteInputTokens = 0;
  }
  return usage;
}

/** OpenAI Chat `finish_reason`. */
export function openaiFinishReason(exp: ExpectedCompletion): 'stop' | 'tool_calls' | 'length' {
  if (exp.stopReason === 'tool_use') return 'tool_calls';
  return exp.stopReason === 'max_tokens' ? 'length' : 'stop';
}

/** Anthropic `stop_reason`; Bedrock Converse `stopReason` uses the same values. */
export function anthropicStopReason(exp: ExpectedCompletion): 'end_turn' | 'tool_use' | 'max_tokens' {
  return exp.stopReason;
}

/** Gemini `finishReason` (a function call ends with STOP). */
export function geminiFinishReason(exp: ExpectedCompletion): 'STOP' | 'MAX_TOKENS' {
  return exp.stopReason === 'max_tokens' ? 'MAX_TOKENS' : 'STOP';
}
