import { readFileSync } from 'node:fs';
import { UpstreamError } from '@switchyard/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RenderContext } from '../../canonical/codec.js';
import type { CanonicalResponse } from '../../canonical/types.js';
import { anthropicClientCodec, anthropicUpstreamCodec } from './index.js';

const fixture = <T = Record<string, unknown>>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;

const ctx: RenderContext = { model: 'claude-sonnet-4-5', includeUsage: false, sse: true };
const CASES = ['basic', 'tool-use', 'thinking', 'prompt-caching'];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(1_700_000_000_000);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Anthropic upstream response → canonical (golden)', () => {
  for (const name of CASES) {
    it(`when the ${name} answer is parsed, then it equals the expected canonical response`, () => {
      const body = fixture(`${name}.upstream-response.json`);
      expect(anthropicUpstreamCodec.parseResponse(body)).toEqual(fixture(`${name}.canonical-response.json`));
    });
  }
  it('when the prompt-caching answer is read for passthrough, then usage counts cache reads and writes as input', () => {
    expect(anthropicUpstreamCodec.usageOf(fixture('prompt-caching.upstream-response.json'))).toEqual({
      inputTokens: 189307,
      outputTokens: 393,
      cachedInputTokens: 188086,
      cacheCreationInputTokens: 1200,
      reasoningTokens: 0,
    });
    expect(anthropicUpstreamCodec.usageOf({ id: 'x' })).toBeNull();
  });
  it('when the answer holds server-tool blocks and an odd stop reason, then those blocks are skipped', () => {
    const res = anthropicUpstreamCodec.parseResponse({
      id: 'msg_1',
      type: 'message',
      model: 'm',
      content: [
        { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} },
        { type: 'text', text: 'done' },
      ],
      stop_reason: 'model_context_window_exceeded',
      usage: { input_tokens: 1, output_tokens: 2 },
    });
    expect(res.content).toEqual([{ type: 'text', text: 'done' }]);
    expect(res.stopReason).toBe('max_tokens');
  });
  it('when the body is not a message, then it is an UpstreamError', () => {
    for (const body of [null, 'x', { id: 'a' }, { content: [] }, { id: 'a', content: ['x'] }]) {
      expect(() => anthropicUpstreamCodec.parseResponse(body)).toThrow(UpstreamError);
    }
  });
});

describe('canonical → Anthropic client response (golden)', () => {
  for (const name of CASES) {
    it(`when the ${name} canonical answer is rendered, then it equals the expected client answer`, () => {
      const res = fixture<CanonicalResponse>(`${name}.canonical-response.json`);
      expect(anthropicClientCodec.renderResponse(res, ctx)).toEqual(fixture(`${name}.client-response.json`));
    });
  }
  it('when the answer came from another provider, then id, unsigned thinking, arguments and stop reason are adapted', () => {
    const res: CanonicalResponse = {
      id: 'chatcmpl-123',
      model: 'gpt-4o',
      created: 1,
      content: [
        { type: 'thinking', text: 'hmm', signature: null },
        { type: 'tool_call', id: 'call_1', name: 'f', arguments: '{"a":[1,2]}' },
        { type: 'tool_call', id: 'call_2', name: 'g', arguments: '{broken' },
      ],
      stopReason: 'content_filter',
      stopSequence: null,
      usage: {
        inputTokens: 10,
        outputTokens: 5,
        cachedInputTokens: 4,
        cacheCreationInputTokens: 0,
        reasoningTokens: 2,
      },
    };
    expect(anthropicClientCodec.renderResponse(res, ctx)).toEqual({
      id: 'msg_chatcmpl-123',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [
        { type: 'thinking', thinking: 'hmm', signature: '' },
        { type: 'tool_use', id: 'call_1', name: 'f', input: { a: [1, 2] } },
        { type: 'tool_use', id: 'call_2', name: 'g', input: {} },
      ],
      stop_reason: 'refusal',
      stop_sequence: null,
      usage: {
        input_tokens: 6,
        output_tokens: 5,
        cache_read_input_tokens: 4,
        cache_creation_input_tokens: 0,
      },
    });
  });
});
