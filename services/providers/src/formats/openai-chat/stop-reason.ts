import type { StopReason } from '../../canonical/types.js';

/** OpenAI's `finish_reason` values the gateway emits. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/**
 * A Chat Completions `finish_reason` as a canonical stop reason. Some compatible hosts answer
 * `stop` for a turn that ends in tool calls, so `sawToolCalls` turns that into `tool_use`.
 */
export function stopReasonOf(finish: unknown, sawToolCalls: boolean): StopReason {
  switch (finish) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'content_filter';
    default:
      return sawToolCalls ? 'tool_use' : 'end_turn';
  }
}

/** A canonical stop reason as OpenAI's `finish_reason` (CONVERSION.md, "Stop reasons"). */
export function finishReasonOf(stop: StopReason): FinishReason {
  switch (stop) {
    case 'max_tokens':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'content_filter':
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}
