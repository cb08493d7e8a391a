import { describe, expect, it } from 'vitest';
import type { CanonicalRequest } from '../../canonical/types.js';
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

describe('count_tokens estimate', () => {
  it('when a request has system, texts, tool calls, results and tools, then it is ceil(chars/4) + 3 per message', () => {
    const req: CanonicalRequest = {
      ...base,
      system: 'abcd', // 4
      tools: [{ name: 'fn', description: 'dd', parameters: { type: 'object' } }], // 2 + 2 + 17
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'hello' }] }, // 5
        { role: 'assistant', content: [{ type: 'tool_call', id: 'c', name: 'fn', arguments: '{"a":1}' }] }, // 2 + 7
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              toolCallId: 'c',
              name: 'fn',
              content: [{ type: 'text', text: 'ok' }],
              isError: false,
            },
          ],
        }, // 2
      ],
    };
    expect(countTokensEstimate(req)).toBe(Math.ceil(41 / 4) + 9);
  });
  it('when the request is empty, then the estimate is 0', () => {
    expect(countTokensEstimate(base)).toBe(0);
  });
});
