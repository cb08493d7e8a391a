import * as o200k from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import type { CanonicalRequest } from '../../canonical/types.js';
import { preloadTokenizer } from '../../tokens/text-tokens.js';
import { countPromptTokens } from './count-tokens.js';
import { countTokensEstimate } from './index.js';

const base: CanonicalRequest = {
  model: 'm',
  system: null,
  messages: [],
  tools: [],
  toolChoice: null,
  parallelToolCalls: null,
  maxTokens: null,
  temperature: null,
  topP: null,
  topK: null,
  stop: [],
  stream: false,
  n: 1,
  responseFormat: null,
  reasoning: null,
  user: null,
};

const full: CanonicalRequest = {
  ...base,
  system: 'abcd',
  tools: [{ name: 'fn', description: 'dd', parameters: { type: 'object' } }],
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'hello' }] },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', text: 'not counted: earlier reasoning', signature: null },
        { type: 'tool_call', id: 'c', name: 'fn', arguments: '{"a":1}' },
      ],
    },
    {
      role: 'user',
      content: [
        {
          type: 'tool_result',
          toolCallId: 'c',
          name: 'fn',
          content: [
            { type: 'text', text: 'ok' },
            { type: 'image', source: { kind: 'url', url: 'https://example.com/a.png' } },
          ],
          isError: false,
        },
      ],
    },
  ],
};

describe('count_tokens estimate', () => {
  it('when the model has no public tokenizer, then texts, tool calls, results and tools are approximated, plus framing and 765 per image', async () => {
    const expected =
      3 +
      2 +
      1 + // system message: framing, 'system', 'abcd'
      (1 + 1 + 5) + // tool: 'fn', 'dd', '{"type":"object"}' (17 characters)
      (3 + 1 + 2) + // user: framing, 'user', 'hello'
      (3 + 3 + 1 + 2) + // assistant: framing, 'assistant', 'fn', '{"a":1}'
      (3 + 1 + 1 + 765) + // user: framing, 'user', 'ok', the image
      3; // the reply's priming
    expect(await countPromptTokens(full)).toBe(expected);
    expect(countTokensEstimate(full)).toBe(expected);
  });

  it('when the model is an OpenAI one, then the async count is exact and the sync one uses the encoding once it is loaded', async () => {
    const req: CanonicalRequest = {
      ...base,
      model: 'gpt-4o',
      system: 'You are terse.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'antidisestablishmentarianism' }] }],
    };
    const n = (s: string): number => o200k.encode(s).length;
    const exact = 3 + n('system') + n('You are terse.') + 3 + n('user') + 6 + 3;
    // Not loaded yet: the synchronous estimate falls back to the approximation.
    expect(countTokensEstimate(req)).toBe(3 + 2 + 4 + 3 + 1 + 7 + 3);
    expect(await countPromptTokens(req)).toBe(exact);
    await preloadTokenizer('gpt-4o');
    expect(countTokensEstimate(req)).toBe(exact);
  });

  it('when the request is empty, then the estimate is 0', async () => {
    expect(countTokensEstimate(base)).toBe(0);
    expect(await countPromptTokens(base)).toBe(0);
  });
});
