import type { CanonicalUsage, StopReason } from '../../canonical/types.js';

/**
 * Anthropic's usage object. `input_tokens` excludes the prompt tokens read from or written to the
 * cache; canonical `inputTokens` includes them (see CONVERSION.md, Usage).
 */
export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

/** Canonical usage from Anthropic's usage fields (absent fields count as 0). */
export function fromAnthropicUsage(u: Readonly<Record<string, unknown>>): CanonicalUsage {
  const cacheRead = count(u.cache_read_input_tokens);
  const cacheCreation = count(u.cache_creation_input_tokens);
  return {
    inputTokens: count(u.input_tokens) + cacheRead + cacheCreation,
    outputTokens: count(u.output_tokens),
    cachedInputTokens: cacheRead,
    cacheCreationInputTokens: cacheCreation,
    reasoningTokens: 0,
  };
}

/** Anthropic's usage fields from canonical usage: cache reads and writes come out of input_tokens. */
export function toAnthropicUsage(u: CanonicalUsage): AnthropicUsage {
  return {
    input_tokens: Math.max(0, u.inputTokens - u.cachedInputTokens - u.cacheCreationInputTokens),
    output_tokens: u.outputTokens,
    cache_read_input_tokens: u.cachedInputTokens,
    cache_creation_input_tokens: u.cacheCreationInputTokens,
  };
}

/** Anthropic `stop_reason` values, as the Messages API documents them. */
export type AnthropicStopReason =
  'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal';

/** Canonical → Anthropic. `content_filter` is Anthropic's `refusal`; `error` has no equivalent. */
export function toAnthropicStopReason(r: StopReason): AnthropicStopReason {
  switch (r) {
    case 'content_filter':
      return 'refusal';
    case 'error':
      return 'end_turn';
    default:
      return r;
  }
}

/** Anthropic → canonical; unknown or missing values read as `end_turn`. */
export function fromAnthropicStopReason(v: unknown): StopReason {
  switch (v) {
    case 'end_turn':
    case 'max_tokens':
    case 'stop_sequence':
    case 'tool_use':
    case 'pause_turn':
    case 'refusal':
      return v;
    case 'model_context_window_exceeded':
      return 'max_tokens';
    default:
      return 'end_turn';
  }
}
