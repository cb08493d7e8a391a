/** Token counts as OpenAI reports them. */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0;
}

/** Reads an OpenAI `usage` object; null when absent or not an object. */
export function readOpenAIUsage(usage: unknown): TokenUsage | null {
  if (usage === null || typeof usage !== 'object') return null;
  const u = usage as Record<string, unknown>;
  const promptTokens = count(u.prompt_tokens);
  const completionTokens = count(u.completion_tokens);
  const totalTokens = u.total_tokens === undefined ? promptTokens + completionTokens : count(u.total_tokens);
  return { promptTokens, completionTokens, totalTokens };
}
