import { isObject } from '../../canonical/json-fields.js';
import type { CanonicalUsage, StopReason } from '../../canonical/types.js';

function count(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

/**
 * Converse `usage` as canonical usage, or null when absent. Converse counts cache reads and writes
 * apart from `inputTokens` (as Anthropic does), so canonical input is their sum; it does not break
 * reasoning out of `outputTokens`.
 */
export function usageFromConverse(usage: unknown): CanonicalUsage | null {
  if (!isObject(usage)) return null;
  const cacheRead = count(usage, 'cacheReadInputTokens');
  const cacheWrite = count(usage, 'cacheWriteInputTokens');
  return {
    inputTokens: count(usage, 'inputTokens') + cacheRead + cacheWrite,
    outputTokens: count(usage, 'outputTokens'),
    cachedInputTokens: cacheRead,
    cacheCreationInputTokens: cacheWrite,
    reasoningTokens: 0,
  };
}

/** A Converse `stopReason` as a canonical stop reason. */
export function stopReasonFromConverse(reason: unknown): StopReason {
  switch (reason) {
    case 'tool_use':
      return 'tool_use';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'max_tokens';
    case 'stop_sequence':
      return 'stop_sequence';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    case 'malformed_model_output':
    case 'malformed_tool_use':
      return 'error';
    default:
      return 'end_turn';
  }
}
