import { readFileSync } from 'node:fs';
import { UpstreamError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { CanonicalResponse } from '../../canonical/types.js';
import { geminiUpstreamCodec } from './index.js';

interface ResponseFixture {
  geminiResponse: unknown;
  canonicalResponse: Omit<CanonicalResponse, 'created'>;
}

const fixture = (name: string): ResponseFixture =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as ResponseFixture;

const FIXTURES = ['text', 'chat', 'function-calling', 'thinking', 'json-mode'];

const answer = (parts: unknown[], finishReason = 'STOP'): unknown => ({
  candidates: [{ content: { role: 'model', parts }, finishReason, index: 0 }],
  modelVersion: 'gemini-2.5-flash',
  responseId: 'r1',
});

describe('Gemini upstream response → canonical', () => {
  it.each(FIXTURES)('when the %s answer is parsed, then it is the expected canonical answer', (name) => {
    const f = fixture(name);
    expect(geminiUpstreamCodec.parseResponse(f.geminiResponse)).toEqual({
      ...f.canonicalResponse,
      created: expect.any(Number),
    });
  });

  it('when function calls come without ids, then they get call_<n> from 0 and keep given ids', () => {
    const res = geminiUpstreamCodec.parseResponse(
      answer([
        { functionCall: { name: 'a', args: { x: 1 } } },
        { functionCall: { id: 'given', name: 'b' } },
        { functionCall: { name: 'c', args: {} } },
      ]),
    );
    expect(res.content).toEqual([
      { type: 'tool_call', id: 'call_0', name: 'a', arguments: '{"x":1}' },
      { type: 'tool_call', id: 'given', name: 'b', arguments: '{}' },
      { type: 'tool_call', id: 'call_2', name: 'c', arguments: '{}' },
    ]);
    expect(res.stopReason).toBe('tool_use');
  });

  it.each([
    ['MAX_TOKENS', 'max_tokens'],
    ['SAFETY', 'content_filter'],
    ['RECITATION', 'content_filter'],
    ['PROHIBITED_CONTENT', 'content_filter'],
    ['BLOCKLIST', 'content_filter'],
    ['SPII', 'content_filter'],
    ['MALFORMED_FUNCTION_CALL', 'error'],
    ['STOP', 'end_turn'],
  ])('when the finishReason is %s, then the stop reason is %s', (finishReason, stopReason) => {
    expect(geminiUpstreamCodec.parseResponse(answer([{ text: 'x' }], finishReason)).stopReason).toBe(
      stopReason,
    );
  });

  it('when the prompt was blocked and no candidate came, then the answer is empty and stopped by the filter', () => {
    const res = geminiUpstreamCodec.parseResponse({
      promptFeedback: { blockReason: 'SAFETY', safetyRatings: [] },
      usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 },
    });
    expect(res).toMatchObject({
      content: [],
      stopReason: 'content_filter',
      usage: { inputTokens: 9, outputTokens: 0 },
    });
  });

  it('when the body is not a GenerateContentResponse, then it is an UpstreamError', () => {
    for (const body of ['nope', { candidates: 'x' }, {}]) {
      expect(() => geminiUpstreamCodec.parseResponse(body)).toThrow(UpstreamError);
    }
  });

  it('when parts the gateway does not model come, then they are skipped and adjacent text merges', () => {
    const res = geminiUpstreamCodec.parseResponse(
      answer([
        { text: 'a' },
        { text: 'b' },
        { inlineData: { mimeType: 'image/png', data: 'AA==' } },
        { text: '' },
      ]),
    );
    expect(res.content).toEqual([{ type: 'text', text: 'ab' }]);
  });

  it('when usage includes cached and tool-use prompt tokens, then usageOf reads them into canonical usage', () => {
    const usage = geminiUpstreamCodec.usageOf({
      usageMetadata: {
        promptTokenCount: 100,
        toolUsePromptTokenCount: 5,
        cachedContentTokenCount: 40,
        candidatesTokenCount: 10,
        thoughtsTokenCount: 30,
        totalTokenCount: 145,
      },
    });
    expect(usage).toEqual({
      inputTokens: 105,
      outputTokens: 40,
      cachedInputTokens: 40,
      cacheCreationInputTokens: 0,
      reasoningTokens: 30,
    });
    expect(geminiUpstreamCodec.usageOf({ candidates: [] })).toBeNull();
  });

  it('when an error body arrives, then errorMessage reads error.message (also from an array body)', () => {
    const body = { error: { code: 400, message: 'API key not valid.', status: 'INVALID_ARGUMENT' } };
    expect(geminiUpstreamCodec.errorMessage(JSON.stringify(body))).toBe('API key not valid.');
    expect(geminiUpstreamCodec.errorMessage(JSON.stringify([body]))).toBe('API key not valid.');
    expect(geminiUpstreamCodec.errorMessage('<html>502</html>')).toBeNull();
    expect(geminiUpstreamCodec.errorMessage('{"message":"x"}')).toBeNull();
  });
});
