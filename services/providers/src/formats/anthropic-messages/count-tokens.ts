import type { CanonicalPart, CanonicalRequest } from '../../canonical/types.js';
import { TOKENS_PER_IMAGE } from '../../tokens/prompt-tokens.js';
import {
  type TextTokenCounter,
  approximateTokens,
  loadedTokenCounterFor,
  tokenCounterFor,
} from '../../tokens/text-tokens.js';

/** Why 3 and 3: OpenAI's framing per message and for the reply's start (see tokens/prompt-tokens.ts). */
const TOKENS_PER_MESSAGE = 3;
const REPLY_PRIMING_TOKENS = 3;

function partTokens(p: CanonicalPart, count: TextTokenCounter): number {
  switch (p.type) {
    case 'text':
      return count(p.text);
    case 'image':
      return TOKENS_PER_IMAGE;
    case 'tool_call':
      return count(p.name) + count(p.arguments);
    case 'tool_result':
      return p.content.reduce((n, c) => n + partTokens(c, count), 0);
    default:
      // Earlier turns' reasoning is not counted as input (Anthropic and OpenAI drop it).
      return 0;
  }
}

function canonicalTokens(req: CanonicalRequest, count: TextTokenCounter): number {
  let tokens = 0;
  if (req.system !== null && req.system !== '') {
    tokens += TOKENS_PER_MESSAGE + count('system') + count(req.system);
  }
  for (const t of req.tools) {
    tokens += count(t.name) + count(t.description ?? '') + count(JSON.stringify(t.parameters));
  }
  for (const m of req.messages) {
    tokens += TOKENS_PER_MESSAGE + count(m.role);
    for (const p of m.content) tokens += partTokens(p, count);
  }
  return req.messages.length > 0 ? tokens + REPLY_PRIMING_TOKENS : tokens;
}

/**
 * The prompt tokens of a canonical request for `/v1/messages/count_tokens` when no upstream counts
 * it (Anthropic counts exactly) and for Gemini's `countTokens`: the system prompt, texts, tool calls
 * (name and arguments), tool results and tool definitions (name, description, JSON schema), counted
 * with `req.model`'s tokenizer (tokens/text-tokens.ts: exact for OpenAI's encodings, an estimate for
 * other models), plus OpenAI's framing (3 per message and its role, 3 for the reply) and 765 per
 * image. Earlier turns' reasoning is not counted. Loads the model's encoding on first use.
 */
export async function countPromptTokens(req: CanonicalRequest): Promise<number> {
  return canonicalTokens(req, await tokenCounterFor(req.model));
}

/**
 * `countPromptTokens` without waiting, for paths that cannot (billing a cut stream): with the model's
 * encoding when it is loaded, else with the approximation every non-OpenAI model gets.
 */
export function countTokensEstimate(req: CanonicalRequest): number {
  return canonicalTokens(req, loadedTokenCounterFor(req.model) ?? approximateTokens);
}
