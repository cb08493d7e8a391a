import type { StopReason } from '../../canonical/types.js';

/** Gemini finish reasons meaning the output was withheld by a filter. */
const FILTERED = new Set([
  'SAFETY',
  'RECITATION',
  'PROHIBITED_CONTENT',
  'BLOCKLIST',
  'SPII',
  'LANGUAGE',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
]);

/** Gemini finish reasons meaning the model produced something unusable. */
const FAILED = new Set(['MALFORMED_FUNCTION_CALL', 'UNEXPECTED_TOOL_CALL', 'TOO_MANY_TOOL_CALLS', 'OTHER']);

/**
 * A Gemini `finishReason` as a canonical stop reason. Gemini says `STOP` for a tool call too, so a
 * candidate with a functionCall part stops with `tool_use`.
 */
export function stopReasonFromGemini(reason: unknown, sawFunctionCall: boolean): StopReason {
  if (reason === 'MAX_TOKENS') return 'max_tokens';
  if (typeof reason === 'string' && FILTERED.has(reason)) return 'content_filter';
  if (typeof reason === 'string' && FAILED.has(reason)) return 'error';
  return sawFunctionCall ? 'tool_use' : 'end_turn';
}

/** A canonical stop reason as Gemini's `finishReason`. */
export function finishReasonToGemini(reason: StopReason): string {
  switch (reason) {
    case 'max_tokens':
      return 'MAX_TOKENS';
    case 'content_filter':
    case 'refusal':
      return 'SAFETY';
    case 'error':
      return 'OTHER';
    default:
      return 'STOP';
  }
}
