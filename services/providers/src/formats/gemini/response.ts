import type { RenderContext } from '../../canonical/codec.js';
import { parseArguments } from '../../canonical/json-fields.js';
import type { CanonicalResponse } from '../../canonical/types.js';
import { finishReasonToGemini } from './finish-reason.js';
import { toGeminiParts } from './parts.js';
import type { GeminiPart, GeminiResponseBody } from './types.js';
import { usageToGemini } from './usage.js';

/** Canonical answer content as a Gemini candidate's parts (thought signatures per `parts.ts`). */
export function answerParts(content: CanonicalResponse['content']): GeminiPart[] {
  return toGeminiParts(content, {
    side: 'client',
    args: parseArguments,
    // Answers hold no images or tool results.
    other: () => [],
  });
}

/** Renders a canonical answer as a GenerateContentResponse naming the client's model. */
export function renderGeminiResponse(res: CanonicalResponse, ctx: RenderContext): GeminiResponseBody {
  return {
    candidates: [
      {
        content: { role: 'model', parts: answerParts(res.content) },
        finishReason: finishReasonToGemini(res.stopReason),
        index: 0,
      },
    ],
    usageMetadata: usageToGemini(res.usage),
    modelVersion: ctx.model,
    responseId: res.id,
  };
}
