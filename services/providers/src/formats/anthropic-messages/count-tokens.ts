import type { CanonicalRequest } from '../../canonical/types.js';

/** Rough characters per token for English text and code (Anthropic's and OpenAI's rule of thumb). */
const CHARS_PER_TOKEN = 4;
/** Per-message overhead for role and turn markers. */
const TOKENS_PER_MESSAGE = 3;

/**
 * An approximate prompt token count for `/v1/messages/count_tokens` when the upstream is not
 * Anthropic (which counts exactly): ceil(characters / 4) over the system prompt, every text (tool
 * results' included), tool-call names and arguments and tool definitions (name, description, JSON
 * schema), plus 3 tokens per message. Images and reasoning from earlier turns are not counted.
 */
export function countTokensEstimate(req: CanonicalRequest): number {
  let chars = req.system?.length ?? 0;
  for (const t of req.tools) {
    chars += t.name.length + (t.description?.length ?? 0) + JSON.stringify(t.parameters).length;
  }
  for (const m of req.messages) {
    for (const p of m.content) {
      if (p.type === 'text') chars += p.text.length;
      else if (p.type === 'tool_call') chars += p.name.length + p.arguments.length;
      else if (p.type === 'tool_result') {
        for (const c of p.content) if (c.type === 'text') chars += c.text.length;
      }
    }
  }
  return Math.ceil(chars / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE * req.messages.length;
}
