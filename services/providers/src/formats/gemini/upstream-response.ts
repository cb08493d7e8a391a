import { randomUUID } from 'node:crypto';
import { UpstreamError } from '@switchyard/core';
import { isObject } from '../../canonical/json-fields.js';
import type { JsonObject } from '../../canonical/json-fields.js';
import { emptyUsage } from '../../canonical/types.js';
import type { CanonicalResponse, CanonicalUsage } from '../../canonical/types.js';
import { camelKeys } from './fields.js';
import { stopReasonFromGemini } from './finish-reason.js';
import { appendPartSignature, appendThought } from './parts.js';
import { usageFromGemini } from './usage.js';

function malformed(what: string): UpstreamError {
  return new UpstreamError(`The Gemini upstream answered with a malformed response: ${what}.`, {
    retryable: false,
    code: 'upstream_bad_response',
  });
}

/** Generates `call_<n>` ids, n counting from 0, for functionCall parts that carry none. */
export class CallIdSequence {
  #n = 0;
  next(given: unknown): string {
    const id = typeof given === 'string' && given !== '' ? given : `call_${this.#n}`;
    this.#n++;
    return id;
  }
}

/**
 * One candidate's parts as canonical answer content: thought parts as thinking, text, functionCall
 * parts as tool calls (`args` as JSON text); parts the gateway does not model (inline images,
 * executable code) are skipped. Adjacent text parts merge.
 */
export function candidateContent(parts: unknown, ids: CallIdSequence): CanonicalResponse['content'] {
  const out: CanonicalResponse['content'] = [];
  for (const given of Array.isArray(parts) ? (parts as unknown[]) : []) {
    if (!isObject(given)) continue;
    const part = camelKeys(given);
    const signature =
      typeof part.thoughtSignature === 'string' && part.thoughtSignature !== ''
        ? part.thoughtSignature
        : null;
    if (part.thought === true) {
      appendThought(out, typeof part.text === 'string' ? part.text : '', signature);
      continue;
    }
    if (signature !== null) appendPartSignature(out, signature);
    if (typeof part.text === 'string') {
      const last = out.at(-1);
      if (last?.type === 'text') last.text += part.text;
      else if (part.text !== '') out.push({ type: 'text', text: part.text });
    } else if (isObject(part.functionCall) && typeof part.functionCall.name === 'string') {
      const call: JsonObject = part.functionCall;
      const args = isObject(call.args) ? call.args : {};
      out.push({
        type: 'tool_call',
        id: ids.next(call.id),
        name: call.name as string,
        arguments: JSON.stringify(args),
      });
    }
  }
  return out;
}

/**
 * Parses a GenerateContentResponse: the first candidate (the gateway asks for one). A prompt Gemini
 * blocked (`promptFeedback.blockReason`, no candidates) is an empty answer stopped by the filter.
 */
export function parseGeminiResponse(body: unknown): CanonicalResponse {
  if (!isObject(body)) throw malformed('the body is not an object');
  const candidates = body.candidates;
  if (candidates !== undefined && !Array.isArray(candidates)) throw malformed("'candidates' is not an array");
  const candidate: unknown = Array.isArray(candidates) ? candidates[0] : undefined;
  const blocked = isObject(body.promptFeedback) && typeof body.promptFeedback.blockReason === 'string';
  if (candidate === undefined && !blocked) throw malformed('it has no candidates');
  const first = isObject(candidate) ? candidate : {};
  const content = candidateContent(
    isObject(first.content) ? first.content.parts : undefined,
    new CallIdSequence(),
  );
  const stopReason =
    candidate === undefined
      ? 'content_filter'
      : stopReasonFromGemini(
          first.finishReason,
          content.some((p) => p.type === 'tool_call'),
        );
  return {
    id: typeof body.responseId === 'string' ? body.responseId : `gemini-${randomUUID()}`,
    model: typeof body.modelVersion === 'string' ? body.modelVersion : '',
    created: createdOf(body.createTime),
    content,
    stopReason,
    // Gemini does not say which stop sequence matched.
    stopSequence: null,
    usage: usageFromGemini(body.usageMetadata) ?? emptyUsage(),
  };
}

/** Vertex's `createTime` in epoch seconds; AI Studio answers carry none, so now. */
function createdOf(createTime: unknown): number {
  const ms = typeof createTime === 'string' ? Date.parse(createTime) : Number.NaN;
  return Math.floor((Number.isNaN(ms) ? Date.now() : ms) / 1000);
}

/** The usage of a non-stream answer (same-format passthrough), or null when absent. */
export function geminiUsageOf(body: unknown): CanonicalUsage | null {
  return isObject(body) ? usageFromGemini(body.usageMetadata) : null;
}
