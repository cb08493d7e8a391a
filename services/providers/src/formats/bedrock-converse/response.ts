import { randomUUID } from 'node:crypto';
import { UpstreamError } from '@switchyard/core';
import { isObject } from '../../canonical/json-fields.js';
import { emptyUsage } from '../../canonical/types.js';
import type { CanonicalResponse, CanonicalUsage } from '../../canonical/types.js';
import { stopReasonFromConverse, usageFromConverse } from './usage.js';

function malformed(what: string): UpstreamError {
  return new UpstreamError(`The Bedrock Converse upstream answered with a malformed response: ${what}.`, {
    retryable: false,
    code: 'upstream_bad_response',
  });
}

/** Converse answers carry no id; the gateway names each one. */
export function converseResponseId(): string {
  return `converse-${randomUUID()}`;
}

/**
 * Parses a Converse answer (`{output: {message: {role, content}}, stopReason, usage}`): text,
 * toolUse (input as JSON text), reasoningContent (text with its signature, or redactedContent);
 * blocks the gateway does not model (images, citations, guard content) are skipped. Converse names
 * no model and gives no id or time, so the id is made up and the model left empty.
 */
export function parseConverseResponse(body: unknown): CanonicalResponse {
  if (!isObject(body)) throw malformed('the body is not an object');
  const message = isObject(body.output) ? body.output.message : undefined;
  if (!isObject(message) || !Array.isArray(message.content))
    throw malformed("'output.message.content' is missing");
  const content: CanonicalResponse['content'] = [];
  for (const b of message.content as unknown[]) {
    if (!isObject(b)) continue;
    if (typeof b.text === 'string') {
      if (b.text !== '') content.push({ type: 'text', text: b.text });
    } else if (isObject(b.toolUse)) {
      const t = b.toolUse;
      if (typeof t.toolUseId !== 'string' || typeof t.name !== 'string')
        throw malformed('a toolUse block has no id or name');
      content.push({
        type: 'tool_call',
        id: t.toolUseId,
        name: t.name,
        arguments: JSON.stringify(t.input ?? {}),
      });
    } else if (isObject(b.reasoningContent)) {
      const r = b.reasoningContent;
      if (isObject(r.reasoningText) && typeof r.reasoningText.text === 'string') {
        const signature = r.reasoningText.signature;
        content.push({
          type: 'thinking',
          text: r.reasoningText.text,
          signature: typeof signature === 'string' && signature !== '' ? signature : null,
        });
      } else if (typeof r.redactedContent === 'string') {
        content.push({ type: 'redacted_thinking', data: r.redactedContent });
      }
    }
  }
  return {
    id: converseResponseId(),
    model: '',
    created: Math.floor(Date.now() / 1000),
    content,
    stopReason: stopReasonFromConverse(body.stopReason),
    stopSequence: stopSequenceOf(body.additionalModelResponseFields),
    usage: usageFromConverse(body.usage) ?? emptyUsage(),
  };
}

/** Models that report the matched stop sequence do it in `additionalModelResponseFields.stop_sequence`. */
export function stopSequenceOf(fields: unknown): string | null {
  return isObject(fields) && typeof fields.stop_sequence === 'string' ? fields.stop_sequence : null;
}

/** The usage of a Converse answer, or null when absent. */
export function converseUsageOf(body: unknown): CanonicalUsage | null {
  return isObject(body) ? usageFromConverse(body.usage) : null;
}
