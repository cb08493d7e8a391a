import { describe, expect, it } from 'vitest';
import { expectedCompletion, promptTokensOf, splitIntoChunks } from './deterministic-completion.js';
import { expectedEmbedding } from './deterministic-embedding.js';

describe('expectedCompletion', () => {
  it('echoes the last user message and counts tokens by the documented rule', () => {
    const body = {
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'Be brief.' }, // 9 chars
        { role: 'user', content: 'first' }, // 5
        { role: 'assistant', content: 'ok' }, // 2
        { role: 'user', content: 'hello world' }, // 11
      ],
    };
    const exp = expectedCompletion(body);
    expect(exp.content).toBe('Echo: hello world');
    // ceil(27 / 4) + 3 * 4
    expect(exp.promptTokens).toBe(7 + 12);
    expect(exp.chunks).toEqual(['Echo', ': he', 'llo', ' wo', 'rld']);
    expect(exp.chunks.join('')).toBe(exp.content);
    expect(exp.completionTokens).toBe(5);
    expect(exp.toolCall).toBeNull();
  });

  it('joins text parts, ignores other parts and counts a top-level system as a message', () => {
    const body = {
      system: [{ type: 'text', text: 'sys' }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'ab' },
            { type: 'image_url', image_url: { url: 'x' } },
            { type: 'text', text: 'cd' },
          ],
        },
      ],
    };
    const exp = expectedCompletion(body);
    expect(exp.content).toBe('Echo: abcd');
    expect(exp.promptTokens).toBe(Math.ceil(7 / 4) + 3 * 2);
    expect(promptTokensOf(body)).toBe(exp.promptTokens);
  });

  it('truncates to 200 characters and honours mock_chunks and the default chunk count', () => {
    const long = expectedCompletion({
      messages: [{ role: 'user', content: 'x'.repeat(500) }],
      mock_chunks: 7,
    });
    expect(long.content).toHaveLength(200);
    expect(long.chunks).toHaveLength(7);
    expect(long.completionTokens).toBe(7);
    expect(long.chunks.map((c) => c.length)).toEqual([29, 29, 29, 29, 28, 28, 28]);

    const few = expectedCompletion({ messages: [{ role: 'user', content: 'hi' }] }, 3);
    expect(few.chunks).toHaveLength(3);
    const capped = expectedCompletion({ messages: [{ role: 'user', content: '' }], mock_chunks: 50 });
    expect(capped.chunks).toEqual(['E', 'c', 'h', 'o', ':', ' ']);
  });

  it('never splits a surrogate pair', () => {
    expect(splitIntoChunks('a😀b😀', 2)).toEqual(['a😀', 'b😀']);
  });

  it('answers "call tool" with a call of the first tool when tools are given', () => {
    const exp = expectedCompletion({
      messages: [{ role: 'user', content: 'Please CALL TOOL now' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: {} } }],
    });
    expect(exp.toolCall).toEqual({ name: 'get_weather', arguments: '{}' });
    expect(exp.completionTokens).toBe(1);
    const noTools = expectedCompletion({ messages: [{ role: 'user', content: 'call tool' }] });
    expect(noTools.toolCall).toBeNull();
    expect(noTools.content).toBe('Echo: call tool');
  });
});

describe('expectedEmbedding', () => {
  it('is deterministic, 8-dimensional, within [-1, 1] and input-dependent', () => {
    const a = expectedEmbedding('hello');
    expect(a).toHaveLength(8);
    expect(expectedEmbedding('hello')).toEqual(a);
    expect(expectedEmbedding('hellp')).not.toEqual(a);
    for (const v of a) expect(Math.abs(v)).toBeLessThanOrEqual(1);
  });
});
