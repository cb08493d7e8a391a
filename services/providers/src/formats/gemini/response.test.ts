import { readFileSync } from 'node:fs';
import {
  AuthenticationError,
  InvalidRequestError,
  NoHealthyUpstreamError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  QuotaExceededError,
  RateLimitedError,
  UpstreamError,
  UpstreamTimeoutError,
} from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { CanonicalResponse } from '../../canonical/types.js';
import { emptyUsage } from '../../canonical/types.js';
import { geminiClientCodec } from './index.js';

interface ResponseFixture {
  model: string;
  canonicalResponse: Omit<CanonicalResponse, 'created'>;
  clientResponse: unknown;
}

const fixture = (name: string): ResponseFixture =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as ResponseFixture;

const FIXTURES = ['text', 'chat', 'function-calling', 'thinking', 'json-mode'];
const ctx = (model: string) => ({ model, includeUsage: false, sse: false });

function answer(over: Partial<CanonicalResponse>): CanonicalResponse {
  return {
    id: 'resp-1',
    model: 'upstream-model',
    created: 0,
    content: [],
    stopReason: 'end_turn',
    stopSequence: null,
    usage: emptyUsage(),
    ...over,
  };
}

describe('canonical → Gemini client response', () => {
  it.each(FIXTURES)(
    'when the %s answer is rendered, then it is the expected GenerateContentResponse',
    (name) => {
      const f = fixture(name);
      const res = { ...f.canonicalResponse, created: 1_700_000_000 };
      expect(geminiClientCodec.renderResponse(res, ctx(f.model))).toEqual(f.clientResponse);
    },
  );

  it('when the answer came from another model, then modelVersion names the client model', () => {
    expect(geminiClientCodec.renderResponse(answer({}), ctx('my-alias'))).toMatchObject({
      modelVersion: 'my-alias',
      responseId: 'resp-1',
    });
  });

  it('when the answer has reasoning and cache counts, then usageMetadata splits thoughts out of candidates', () => {
    const usage = {
      inputTokens: 50,
      outputTokens: 30,
      cachedInputTokens: 20,
      cacheCreationInputTokens: 0,
      reasoningTokens: 12,
    };
    expect(geminiClientCodec.renderResponse(answer({ usage }), ctx('m'))).toMatchObject({
      usageMetadata: {
        promptTokenCount: 50,
        candidatesTokenCount: 18,
        totalTokenCount: 80,
        cachedContentTokenCount: 20,
        thoughtsTokenCount: 12,
      },
    });
  });

  it('when the answer mixes thinking, text and calls from another format, then parts keep order, calls carry ids', () => {
    const res = answer({
      content: [
        { type: 'thinking', text: 'Plan.', signature: 'anthropic-sig' },
        { type: 'redacted_thinking', data: 'opaque' },
        { type: 'text', text: 'Calling.' },
        { type: 'tool_call', id: 'toolu_9', name: 'run', arguments: 'not json' },
        { type: 'thinking', text: '', signature: 'trailing' },
      ],
      stopReason: 'tool_use',
    });
    expect(geminiClientCodec.renderResponse(res, ctx('m'))).toMatchObject({
      candidates: [
        {
          content: {
            role: 'model',
            parts: [
              { text: 'Plan.', thought: true, thoughtSignature: 'anthropic-sig' },
              { text: 'Calling.' },
              { functionCall: { name: 'run', args: { _raw: 'not json' }, id: 'toolu_9' } },
              { text: '', thought: true, thoughtSignature: 'trailing' },
            ],
          },
          finishReason: 'STOP',
        },
      ],
    });
  });

  it.each([
    ['max_tokens', 'MAX_TOKENS'],
    ['content_filter', 'SAFETY'],
    ['refusal', 'SAFETY'],
    ['stop_sequence', 'STOP'],
    ['error', 'OTHER'],
  ] as const)('when the stop reason is %s, then finishReason is %s', (stopReason, finishReason) => {
    expect(geminiClientCodec.renderResponse(answer({ stopReason }), ctx('m'))).toMatchObject({
      candidates: [{ finishReason }],
    });
  });
});

describe('Gemini client errors', () => {
  it.each([
    [new InvalidRequestError("'contents': bad."), 400, 'INVALID_ARGUMENT'],
    [new AuthenticationError(), 401, 'UNAUTHENTICATED'],
    [new PermissionDeniedError('no'), 403, 'PERMISSION_DENIED'],
    [new NotFoundError('missing'), 404, 'NOT_FOUND'],
    [new PayloadTooLargeError(10), 413, 'INVALID_ARGUMENT'],
    [new QuotaExceededError('top up'), 402, 'RESOURCE_EXHAUSTED'],
    [new RateLimitedError('slow down'), 429, 'RESOURCE_EXHAUSTED'],
    [new UpstreamError('bad gateway', { retryable: false }), 502, 'INTERNAL'],
    [new NoHealthyUpstreamError('m'), 503, 'UNAVAILABLE'],
    [new UpstreamTimeoutError('late'), 504, 'DEADLINE_EXCEEDED'],
  ])('when %s is rendered, then the status is %i and error.status %s', (err, status, rpc) => {
    expect(geminiClientCodec.renderError(err)).toEqual({
      status,
      body: { error: { code: status, message: err.message, status: rpc } },
    });
  });

  it('when an unexpected error is rendered, then it is a generic 500 INTERNAL without details', () => {
    expect(geminiClientCodec.renderError(new Error('secret detail'))).toEqual({
      status: 500,
      body: { error: { code: 500, message: 'The gateway hit an internal error.', status: 'INTERNAL' } },
    });
  });
});
