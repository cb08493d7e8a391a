import { describe, expect, it } from 'vitest';
import { expectedCompletion, promptTokensOf, reasoningSignature } from './deterministic-completion.js';
import {
  anthropicUsage,
  converseUsage,
  geminiFinishReason,
  geminiUsageMetadata,
  openaiFinishReason,
  openaiUsage,
} from './expected-wire-fields.js';

const PNG_BASE64 = Buffer.from('\x89PNG fake image bytes').toString('base64');
const PNG_BYTES = Buffer.from(PNG_BASE64, 'base64').length;

/** One conversation (system "Be brief.", user "hello world") in each request format. */
const openaiBody = {
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'hello world' },
  ],
};
const anthropicBody = {
  system: 'Be brief.',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'hello world' }] }],
};
const geminiBody = {
  systemInstruction: { parts: [{ text: 'Be brief.' }] },
  contents: [{ role: 'user', parts: [{ text: 'hello world' }] }],
};
const converseBody = {
  system: [{ text: 'Be brief.' }],
  messages: [{ role: 'user', content: [{ text: 'hello world' }] }],
};

describe('expectedCompletion across request formats', () => {
  it('when the same conversation comes in each format, then content and prompt tokens agree', () => {
    const expected = expectedCompletion(openaiBody);
    expect(expected.content).toBe('Echo: hello world');
    for (const body of [anthropicBody, geminiBody, converseBody]) {
      const exp = expectedCompletion(body);
      expect(exp.content).toBe(expected.content);
      expect(exp.promptTokens).toBe(expected.promptTokens);
      expect(promptTokensOf(body)).toBe(expected.promptTokens);
    }
  });

  it('when a Gemini conversation has model turns, thought parts and a role-less last turn, then it echoes that turn', () => {
    const exp = expectedCompletion({
      contents: [
        { role: 'user', parts: [{ text: 'first' }] },
        { role: 'model', parts: [{ text: 'hidden', thought: true }, { text: 'ok' }] },
        { parts: [{ text: 'second' }, { text: ' part' }] },
      ],
    });
    expect(exp.content).toBe('Echo: second part');
    // ceil((5 + 2 + 11) / 4) + 3 * 3: the thought part is not text
    expect(exp.promptTokens).toBe(5 + 9);
  });

  it('when the last user message carries images in any format, then each adds its description', () => {
    const dataUrl = `data:image/png;base64,${PNG_BASE64}`;
    const suffix = ` [image: image/png, ${PNG_BYTES}] [image: url, url]`;
    const bodies = [
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'look' },
              { type: 'image_url', image_url: { url: dataUrl } },
              { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
            ],
          },
        ],
      },
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'look' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_BASE64 } },
              { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
            ],
          },
        ],
      },
      {
        contents: [
          {
            role: 'user',
            parts: [
              { text: 'look' },
              { inlineData: { mimeType: 'image/png', data: PNG_BASE64 } },
              { fileData: { mimeType: 'image/png', fileUri: 'gs://bucket/a.png' } },
            ],
          },
        ],
      },
      {
        messages: [
          {
            role: 'user',
            content: [
              { text: 'look' },
              { image: { format: 'png', source: { bytes: PNG_BASE64 } } },
              { image: { format: 'png', source: { s3Location: { uri: 's3://bucket/a.png' } } } },
            ],
          },
        ],
      },
    ];
    for (const body of bodies) expect(expectedCompletion(body).content).toBe(`Echo: look${suffix}`);
    // an earlier user message's image does not count, nor a reference that is not a URL
    const earlier = expectedCompletion({
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl } }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'now' },
            { type: 'image_url', image_url: { url: 'x' } },
          ],
        },
      ],
    });
    expect(earlier.content).toBe('Echo: now');
  });

  it('when reasoning is enabled in any format, then the answer carries the reasoning text and its tokens', () => {
    const enabled = [
      { ...openaiBody, reasoning_effort: 'low' },
      { ...anthropicBody, thinking: { type: 'enabled', budget_tokens: 1024 } },
      {
        ...geminiBody,
        generationConfig: { thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 } },
      },
      {
        ...converseBody,
        additionalModelRequestFields: { reasoning_config: { type: 'enabled', budget_tokens: 1024 } },
      },
    ];
    for (const body of enabled) {
      const exp = expectedCompletion(body);
      expect(exp.reasoning).toEqual({
        text: 'Thinking about: hello world',
        chunks: ['Thinki', 'ng abo', 'ut: h', 'ello ', 'world'],
        signature: reasoningSignature('Thinking about: hello world'),
      });
      expect(exp.reasoningTokens).toBe(5);
      expect(exp.completionTokens).toBe(5 + 5);
      expect(exp.content).toBe('Echo: hello world');
    }
    const disabled = [
      { ...openaiBody, reasoning_effort: 'none' },
      { ...anthropicBody, thinking: { type: 'disabled' } },
      { ...geminiBody, generationConfig: { thinkingConfig: { thinkingBudget: 0 } } },
      { ...converseBody, additionalModelRequestFields: { reasoning_config: { type: 'disabled' } } },
    ];
    for (const body of disabled) expect(expectedCompletion(body).reasoning).toBeNull();
  });

  it('when the first tool declares properties, then the call sets the first one to the last user text', () => {
    const ask = 'please call tool';
    const schema = { type: 'object', properties: { query: { type: 'string' }, limit: { type: 'number' } } };
    const bodies = [
      {
        messages: [{ role: 'user', content: ask }],
        tools: [{ type: 'function', function: { name: 'find', parameters: schema } }],
      },
      { messages: [{ role: 'user', content: ask }], tools: [{ name: 'find', input_schema: schema }] },
      {
        contents: [{ role: 'user', parts: [{ text: ask }] }],
        tools: [{ functionDeclarations: [{ name: 'find', parameters: schema }] }],
      },
      {
        messages: [{ role: 'user', content: [{ text: ask }] }],
        toolConfig: { tools: [{ toolSpec: { name: 'find', inputSchema: { json: schema } } }] },
      },
    ];
    for (const body of bodies) {
      const exp = expectedCompletion({ ...body, mock_chunks: 3 });
      expect(exp.toolCall).toEqual({ name: 'find', arguments: '{"query":"please call tool"}' });
      expect(exp.toolArgumentChunks).toEqual(['{"query":"', 'please ca', 'll tool"}']);
      expect(exp.stopReason).toBe('tool_use');
    }
    const empty = expectedCompletion({
      messages: [{ role: 'user', content: ask }],
      tools: [{ name: 'noop', input_schema: { type: 'object' } }],
    });
    expect(empty.toolArgumentChunks).toEqual(['{}']);
    const twoAtLeast = expectedCompletion({
      messages: [{ role: 'user', content: ask }],
      tools: [{ name: 'f', input_schema: schema }],
      mock_chunks: 1,
    });
    expect(twoAtLeast.toolArgumentChunks).toHaveLength(2);
  });

  it('when the output limit is below the chunk count, then the answer stops at it with max_tokens', () => {
    const exp = expectedCompletion({ ...geminiBody, generationConfig: { maxOutputTokens: 2 } });
    expect(exp.chunks).toEqual(['Echo', ': he']);
    expect(exp.content).toBe('Echo: he');
    expect(exp.completionTokens).toBe(2);
    expect(exp.stopReason).toBe('max_tokens');
    expect(openaiFinishReason(exp)).toBe('length');
    expect(geminiFinishReason(exp)).toBe('MAX_TOKENS');
    expect(expectedCompletion({ ...openaiBody, max_tokens: 5 }).stopReason).toBe('end_turn');
    expect(expectedCompletion({ ...converseBody, inferenceConfig: { maxTokens: 1 } }).chunks).toEqual([
      'Echo',
    ]);
  });
});

describe('usage in each wire format', () => {
  const exp = expectedCompletion({ ...anthropicBody, thinking: { type: 'enabled' } });

  it('when tokens are cached and reasoning is on, then each format reports them in its own fields', () => {
    const p = exp.promptTokens;
    expect(openaiUsage(exp, 3)).toEqual({
      prompt_tokens: p,
      completion_tokens: 10,
      total_tokens: p + 10,
      prompt_tokens_details: { cached_tokens: 3 },
      completion_tokens_details: { reasoning_tokens: 5 },
    });
    expect(anthropicUsage(exp, 3)).toEqual({
      input_tokens: p - 3,
      output_tokens: 10,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 3,
    });
    expect(geminiUsageMetadata(exp, 3)).toEqual({
      promptTokenCount: p,
      candidatesTokenCount: 5,
      totalTokenCount: p + 10,
      thoughtsTokenCount: 5,
      cachedContentTokenCount: 3,
    });
    expect(converseUsage(exp, 3)).toEqual({
      inputTokens: p - 3,
      outputTokens: 10,
      totalTokens: p + 10,
      cacheReadInputTokens: 3,
      cacheWriteInputTokens: 0,
    });
  });

  it('when more tokens are cached than the prompt has, then the prompt is the cap', () => {
    expect(anthropicUsage(exp, 10_000)).toMatchObject({
      input_tokens: 0,
      cache_read_input_tokens: exp.promptTokens,
    });
    expect(openaiUsage(expectedCompletion(openaiBody), 0)).toEqual({
      prompt_tokens: 11,
      completion_tokens: 5,
      total_tokens: 16,
    });
  });
});
