import type { ExpectedCompletion } from './deterministic-completion.js';
import { geminiFinishReason, geminiUsageMetadata } from './expected-wire-fields.js';

/** The answer's identity and the usage knobs, as the Gemini-shaped routes fill them. */
export interface GeminiAnswerOptions {
  /** `modelVersion`: the model named in the URL. */
  model: string;
  responseId: string;
  /** The `id` of a functionCall part. */
  callId: string;
  cachedTokens: number;
}

/** One chunk of a Gemini stream: a whole GenerateContentResponse; `content` as `cutAfterChunks` counts. */
export interface GeminiStreamChunk {
  payload: Record<string, unknown>;
  content: boolean;
}

function toolArgs(args: string): unknown {
  try {
    return JSON.parse(args);
  } catch {
    return {};
  }
}

function response(
  parts: Record<string, unknown>[],
  opts: GeminiAnswerOptions,
  final: { finishReason: string; usageMetadata: Record<string, unknown> } | null,
): Record<string, unknown> {
  const candidate: Record<string, unknown> = { content: { role: 'model', parts } };
  if (final) candidate.finishReason = final.finishReason;
  candidate.index = 0;
  const payload: Record<string, unknown> = { candidates: [candidate] };
  if (final) payload.usageMetadata = final.usageMetadata;
  payload.modelVersion = opts.model;
  payload.responseId = opts.responseId;
  return payload;
}

function functionCallPart(
  exp: ExpectedCompletion,
  opts: GeminiAnswerOptions,
): Record<string, unknown> | null {
  if (!exp.toolCall) return null;
  return {
    functionCall: { id: opts.callId, name: exp.toolCall.name, args: toolArgs(exp.toolCall.arguments) },
  };
}

function finalFields(exp: ExpectedCompletion, opts: GeminiAnswerOptions) {
  return {
    finishReason: geminiFinishReason(exp),
    usageMetadata: geminiUsageMetadata(exp, opts.cachedTokens),
  };
}

/**
 * The whole GenerateContentResponse: candidates[0].content.parts = a thought part (`thought: true`,
 * `thoughtSignature`) when reasoning, then the text or the functionCall {id, name, args}.
 */
export function geminiResponse(exp: ExpectedCompletion, opts: GeminiAnswerOptions): Record<string, unknown> {
  const parts: Record<string, unknown>[] = [];
  if (exp.reasoning) {
    parts.push({ text: exp.reasoning.text, thought: true, thoughtSignature: exp.reasoning.signature });
  }
  parts.push(functionCallPart(exp, opts) ?? { text: exp.content });
  return response(parts, opts, finalFields(exp, opts));
}

/**
 * The stream: one chunk per thought piece (the last one carrying the thoughtSignature) and per text
 * piece, then a final chunk with an empty text part, finishReason and usageMetadata. A function call
 * is one chunk (Gemini never streams partial arguments) that is also the final one.
 */
export function geminiStreamChunks(exp: ExpectedCompletion, opts: GeminiAnswerOptions): GeminiStreamChunk[] {
  const chunks: GeminiStreamChunk[] = [];
  if (exp.reasoning) {
    const pieces = exp.reasoning.chunks;
    pieces.forEach((text, i) => {
      const part: Record<string, unknown> = { text, thought: true };
      if (i === pieces.length - 1) part.thoughtSignature = exp.reasoning?.signature;
      chunks.push({ payload: response([part], opts, null), content: true });
    });
  }
  const call = functionCallPart(exp, opts);
  if (call) {
    chunks.push({ payload: response([call], opts, finalFields(exp, opts)), content: true });
    return chunks;
  }
  for (const text of exp.chunks) chunks.push({ payload: response([{ text }], opts, null), content: true });
  chunks.push({ payload: response([{ text: '' }], opts, finalFields(exp, opts)), content: false });
  return chunks;
}
