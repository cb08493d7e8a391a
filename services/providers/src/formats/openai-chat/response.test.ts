import { readFileSync } from 'node:fs';
import { InvalidRequestError, UpstreamError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { CanonicalResponse } from '../../canonical/types.js';
import { openaiChatClientCodec, openaiChatUpstreamCodec } from './index.js';
import { readOpenAIUsage } from './usage.js';

const fixture = <T = Record<string, unknown>>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;

const ctx = { model: 'gpt-4.1', includeUsage: false, sse: false };

describe('OpenAI Chat upstream answer → canonical', () => {
  it.each(['tool-call', 'reasoning'])(
    'when the %s answer is parsed, then it equals its canonical fixture',
    (name) => {
      expect(openaiChatUpstreamCodec.parseResponse(fixture(`upstream-response-${name}.json`))).toEqual(
        fixture(`upstream-response-${name}.canonical.json`),
      );
    },
  );

  it.each([
    ['stop', false, 'end_turn'],
    ['length', false, 'max_tokens'],
    ['tool_calls', true, 'tool_use'],
    ['content_filter', false, 'content_filter'],
    ['stop', true, 'tool_use'],
  ])('when finish_reason is %s (tool calls: %s), then the stop reason is %s', (finish, withCall, stop) => {
    const message = withCall
      ? {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
        }
      : { role: 'assistant', content: 'x' };
    const res = openaiChatUpstreamCodec.parseResponse({
      id: 'a',
      choices: [{ index: 0, message, finish_reason: finish }],
    });
    expect(res.stopReason).toBe(stop);
  });

  it('when the model refused, then the refusal is the text and the stop reason is refusal', () => {
    const res = openaiChatUpstreamCodec.parseResponse({
      id: 'a',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: null, refusal: 'I cannot help.' },
          finish_reason: 'stop',
        },
      ],
    });
    expect([res.content, res.stopReason]).toEqual([[{ type: 'text', text: 'I cannot help.' }], 'refusal']);
  });

  it.each([
    ['not an object', 'x'],
    ['without choices', { id: 'a', choices: [] }],
  ])('when the answer is %s, then it is an UpstreamError', (_, body) => {
    expect(() => openaiChatUpstreamCodec.parseResponse(body)).toThrow(UpstreamError);
  });

  it('when a passthrough answer reports usage, then usageOf reads cached and reasoning tokens', () => {
    expect(openaiChatUpstreamCodec.usageOf(fixture('upstream-response-reasoning.json'))).toEqual({
      inputTokens: 16,
      outputTokens: 120,
      cachedInputTokens: 10,
      cacheCreationInputTokens: 0,
      reasoningTokens: 104,
    });
    expect(openaiChatUpstreamCodec.usageOf({ id: 'x' })).toBeNull();
  });

  it('when usage has details, then readOpenAIUsage adds them and keeps the three counts', () => {
    expect(
      readOpenAIUsage({
        prompt_tokens: 5,
        completion_tokens: 2,
        prompt_tokens_details: { cached_tokens: 3 },
      }),
    ).toEqual({
      promptTokens: 5,
      completionTokens: 2,
      totalTokens: 7,
      cachedTokens: 3,
    });
  });

  it.each([
    [
      '{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}',
      'Rate limit reached',
    ],
    ['{"error":"model not loaded"}', 'model not loaded'],
    ['[{"error":{"message":"quota"}}]', 'quota'],
    ['{"object":"error","message":"bad input"}', 'bad input'],
    ['<html>502</html>', null],
    ['{"error":{}}', null],
  ])('when the upstream error body is %s, then errorMessage is %j', (body, message) => {
    expect(openaiChatUpstreamCodec.errorMessage(body)).toBe(message);
  });

  it('when inline images are asked about, then OpenAI Chat takes URLs', () => {
    expect(openaiChatUpstreamCodec.needsInlineImages).toBe(false);
  });
});

describe('canonical answer → OpenAI Chat client', () => {
  it('when an answer with reasoning, text and a tool call is rendered, then it equals the chat.completion fixture', () => {
    expect(
      openaiChatClientCodec.renderResponse(fixture<CanonicalResponse>('canonical-response.json'), ctx),
    ).toEqual(fixture('client-response.json'));
  });

  it('when the answer holds only tool calls, then content is null', () => {
    const res: CanonicalResponse = {
      ...fixture<CanonicalResponse>('canonical-response.json'),
      content: [{ type: 'tool_call', id: 'c', name: 'f', arguments: '{}' }],
    };
    const body = openaiChatClientCodec.renderResponse(res, ctx) as {
      choices: [{ message: Record<string, unknown> }];
    };
    expect(body.choices[0].message.content).toBeNull();
    expect(body.choices[0].message).not.toHaveProperty('reasoning_content');
  });

  it.each([
    ['max_tokens', 'length'],
    ['stop_sequence', 'stop'],
    ['refusal', 'content_filter'],
    ['end_turn', 'stop'],
  ] as const)('when the stop reason is %s, then finish_reason is %s', (stopReason, finish) => {
    const res: CanonicalResponse = { ...fixture<CanonicalResponse>('canonical-response.json'), stopReason };
    const body = openaiChatClientCodec.renderResponse(res, ctx) as { choices: [{ finish_reason: string }] };
    expect(body.choices[0].finish_reason).toBe(finish);
  });

  it('when an error is rendered, then it has the OpenAI shape and status', () => {
    const { status, body } = openaiChatClientCodec.renderError(
      new InvalidRequestError("'n': bad", { param: 'n' }),
    );
    expect([status, body]).toEqual([
      400,
      { error: { message: "'n': bad", type: 'invalid_request_error', param: 'n', code: 'invalid_request' } },
    ]);
  });
});
