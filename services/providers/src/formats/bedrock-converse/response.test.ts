import { readFileSync } from 'node:fs';
import { UpstreamError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { CanonicalResponse } from '../../canonical/types.js';
import { bedrockConverseUpstreamCodec } from './index.js';

interface ResponseFixture {
  converseResponse: unknown;
  canonicalResponse: Omit<CanonicalResponse, 'id' | 'created'>;
}

const fixture = (name: string): ResponseFixture =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as ResponseFixture;

const answer = (content: unknown[], stopReason = 'end_turn', usage?: unknown): unknown => ({
  output: { message: { role: 'assistant', content } },
  stopReason,
  usage: usage ?? { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
});

describe('Bedrock Converse response → canonical', () => {
  it.each(['text', 'tool-use'])(
    'when the documented %s answer is parsed, then it is the expected canonical answer',
    (name) => {
      const f = fixture(name);
      expect(bedrockConverseUpstreamCodec.parseResponse(f.converseResponse)).toEqual({
        ...f.canonicalResponse,
        id: expect.stringMatching(/^converse-/),
        created: expect.any(Number),
      });
    },
  );

  it.each([
    ['end_turn', 'end_turn'],
    ['tool_use', 'tool_use'],
    ['max_tokens', 'max_tokens'],
    ['stop_sequence', 'stop_sequence'],
    ['guardrail_intervened', 'content_filter'],
    ['content_filtered', 'content_filter'],
    ['malformed_tool_use', 'error'],
  ])('when the stopReason is %s, then the stop reason is %s', (stopReason, expected) => {
    expect(bedrockConverseUpstreamCodec.parseResponse(answer([{ text: 'x' }], stopReason)).stopReason).toBe(
      expected,
    );
  });

  it('when the answer has reasoning, then it becomes thinking with its signature, or redacted thinking', () => {
    const res = bedrockConverseUpstreamCodec.parseResponse(
      answer([
        { reasoningContent: { reasoningText: { text: 'Think.', signature: 'sig' } } },
        { reasoningContent: { reasoningText: { text: 'More.' } } },
        { reasoningContent: { redactedContent: 'ZW5j' } },
        { text: 'Done.' },
      ]),
    );
    expect(res.content).toEqual([
      { type: 'thinking', text: 'Think.', signature: 'sig' },
      { type: 'thinking', text: 'More.', signature: null },
      { type: 'redacted_thinking', data: 'ZW5j' },
      { type: 'text', text: 'Done.' },
    ]);
  });

  it('when usage has cache reads and writes, then canonical input counts them (Converse counts them apart)', () => {
    const usage = {
      inputTokens: 10,
      outputTokens: 5,
      totalTokens: 115,
      cacheReadInputTokens: 80,
      cacheWriteInputTokens: 20,
    };
    const expected = {
      inputTokens: 110,
      outputTokens: 5,
      cachedInputTokens: 80,
      cacheCreationInputTokens: 20,
      reasoningTokens: 0,
    };
    expect(bedrockConverseUpstreamCodec.parseResponse(answer([], 'end_turn', usage)).usage).toEqual(expected);
    expect(bedrockConverseUpstreamCodec.usageOf({ usage })).toEqual(expected);
    expect(bedrockConverseUpstreamCodec.usageOf({})).toBeNull();
  });

  it('when the body has no output message, then it is an UpstreamError', () => {
    for (const body of [null, {}, { output: {} }, { output: { message: { content: 'x' } } }]) {
      expect(() => bedrockConverseUpstreamCodec.parseResponse(body)).toThrow(UpstreamError);
    }
  });

  it('when an error body arrives, then errorMessage reads message or Message', () => {
    expect(
      bedrockConverseUpstreamCodec.errorMessage(
        '{"message":"The security token included in the request is invalid."}',
      ),
    ).toBe('The security token included in the request is invalid.');
    expect(bedrockConverseUpstreamCodec.errorMessage('{"Message":"User is not authorized"}')).toBe(
      'User is not authorized',
    );
    expect(bedrockConverseUpstreamCodec.errorMessage('{"error":"x"}')).toBeNull();
    expect(bedrockConverseUpstreamCodec.errorMessage('Bad Gateway')).toBeNull();
  });
});
