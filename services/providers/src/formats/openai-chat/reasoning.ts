import { invalid } from '../../canonical/json-fields.js';
import type { CanonicalReasoning } from '../../canonical/types.js';

type Effort = NonNullable<CanonicalReasoning['effort']>;

const EFFORTS: Readonly<Record<string, Effort>> = {
  minimal: 'minimal',
  low: 'low',
  medium: 'medium',
  high: 'high',
  // The canonical scale tops out at `high`: OpenAI's newer levels above it map there.
  xhigh: 'high',
  max: 'high',
};

/**
 * An OpenAI reasoning effort (`reasoning_effort`, Responses `reasoning.effort`) as canonical
 * reasoning settings; `none` turns reasoning off, null/absent means the provider's default.
 */
export function parseReasoningEffort(v: unknown, param: string): CanonicalReasoning | null {
  if (v === undefined || v === null) return null;
  if (v === 'none') return { effort: null, budgetTokens: null, enabled: false };
  const effort = typeof v === 'string' ? EFFORTS[v] : undefined;
  if (effort === undefined) {
    throw invalid(param, "must be one of 'none', 'minimal', 'low', 'medium', 'high', 'xhigh'.");
  }
  return { effort, budgetTokens: null, enabled: true };
}

/**
 * The effort to send an effort-only target (CONVERSION.md): the caller's effort, else the one its
 * token budget falls into; null when reasoning is off or left to the provider.
 */
export function effortFor(r: CanonicalReasoning | null): Effort | null {
  if (r === null || !r.enabled) return null;
  if (r.effort !== null) return r.effort;
  const budget = r.budgetTokens;
  if (budget === null) return null;
  // Budget → effort thresholds from CONVERSION.md.
  if (budget <= 1024) return 'minimal';
  if (budget <= 4096) return 'low';
  if (budget <= 16384) return 'medium';
  return 'high';
}
