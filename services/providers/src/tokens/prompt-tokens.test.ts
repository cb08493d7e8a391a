import { readFileSync } from 'node:fs';
import * as cl100k from 'gpt-tokenizer/encoding/cl100k_base';
import * as o200k from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import type { ClientFormat } from '../formats/registry.js';
import {
  TOKENS_PER_IMAGE,
  estimatePromptTokens,
  estimatePromptTokensSync,
  maxOutputTokens,
} from './prompt-tokens.js';
import { approximateTokens } from './text-tokens.js';

function fixture(format: ClientFormat): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`./fixtures/${format}.request.json`, import.meta.url), 'utf8'));
}

const sum = (count: (s: string) => number, pieces: string[]): number =>
  pieces.reduce((n, s) => n + count(s), 0);
const o200kCount = (s: string): number => o200k.encode(s).length;
const cl100kCount = (s: string): number => cl100k.encode(s).length;

/** The cookbook's framing: 3 per message (its role counted as text) and 3 priming the reply. */
const framing = (messages: number): number => 3 * messages + 3;

describe('estimatePromptTokens per format', () => {
  it('when an OpenAI Chat request has system, an image, a tool call, its result and tools, then each is counted with o200k_base', async () => {
    const body = fixture('openai-chat');
    const pieces = [
      'system',
      'You are terse.',
      'user',
      'What is in this image?',
      'assistant',
      'lookup',
      '{"q":"cat"}',
      'tool',
      'A cat on a mat.',
      'lookup',
      'Look a thing up.',
      '{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}',
    ];
    const expected = framing(4) + sum(o200kCount, pieces) + TOKENS_PER_IMAGE;
    expect(await estimatePromptTokens('openai-chat', body, 'gpt-4o')).toEqual({
      tokens: expected,
      images: 1,
    });
  });

  it("when the request is the OpenAI cookbook's example chat, then the count is the cookbook's 129 (gpt-4) and 124 (gpt-4o)", async () => {
    // "How to count tokens with tiktoken", section 6: the API reported these prompt_tokens.
    const body = {
      messages: [
        {
          role: 'system',
          content:
            'You are a helpful, pattern-following assistant that translates corporate jargon into plain English.',
        },
        { role: 'system', name: 'example_user', content: 'New synergies will help drive top-line growth.' },
        {
          role: 'system',
          name: 'example_assistant',
          content: 'Things working well together will increase revenue.',
        },
        {
          role: 'system',
          name: 'example_user',
          content:
            "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.",
        },
        {
          role: 'system',
          name: 'example_assistant',
          content: "Let's talk later when we're less busy about how to do better.",
        },
        {
          role: 'user',
          content: "This late pivot means we don't have time to boil the ocean for the client deliverable.",
        },
      ],
    };
    expect((await estimatePromptTokens('openai-chat', body, 'gpt-4-0613')).tokens).toBe(129);
    expect((await estimatePromptTokens('openai-chat', body, 'gpt-4o')).tokens).toBe(124);
  });

  it('when a Responses request has instructions, an image, a function call, its output, reasoning and tools, then reasoning alone is left out', async () => {
    const body = fixture('openai-responses');
    const pieces = [
      'developer',
      'Answer in one sentence.',
      'user',
      'Describe the picture.',
      'assistant',
      'lookup',
      '{"q":"cat"}',
      'tool',
      'A cat on a mat.',
      'lookup',
      'Look a thing up.',
      '{"type":"object","properties":{"q":{"type":"string"}}}',
    ];
    const expected = framing(4) + sum(o200kCount, pieces) + TOKENS_PER_IMAGE;
    expect(await estimatePromptTokens('openai-responses', body, 'gpt-4.1')).toEqual({
      tokens: expected,
      images: 1,
    });
  });

  it('when a Responses input is a plain string, then it is one user message', async () => {
    const got = await estimatePromptTokens('openai-responses', { input: 'hello world' }, 'gpt-4o');
    expect(got).toEqual({ tokens: framing(1) + o200kCount('user') + 2, images: 0 });
  });

  it('when an Anthropic request has a system, images (one in a tool result), thinking, tool use and tools, then thinking alone is left out', async () => {
    const body = fixture('anthropic-messages');
    const pieces = [
      'system',
      'Be brief.',
      'user',
      'What is this?',
      'assistant',
      'lookup',
      '{"q":"cat"}',
      'user',
      'A cat, 猫.',
      'lookup',
      'Look a thing up.',
      '{"type":"object","properties":{"q":{"type":"string"}}}',
    ];
    const expected = framing(4) + sum(approximateTokens, pieces) + 2 * TOKENS_PER_IMAGE;
    expect(await estimatePromptTokens('anthropic-messages', body, 'claude-sonnet-4-5')).toEqual({
      tokens: expected,
      images: 2,
    });
    // By hand, so the approximation itself is pinned: 'A cat, 猫.' is ceil(8 / 4) + 1.
    expect(approximateTokens('A cat, 猫.')).toBe(3);
  });

  it('when a Gemini request has a system instruction, inline data, a thought, a function call and response and tools, then the thought alone is left out', async () => {
    const body = fixture('gemini');
    const pieces = [
      'system',
      'Be brief.',
      'user',
      'What is this?',
      'model',
      'lookup',
      '{"q":"cat"}',
      'user',
      'lookup',
      '{"output":"A cat, 猫."}',
      'lookup',
      'Look a thing up.',
      '{"type":"OBJECT","properties":{"q":{"type":"STRING"}}}',
    ];
    const expected = framing(4) + sum(approximateTokens, pieces) + TOKENS_PER_IMAGE;
    expect(await estimatePromptTokens('gemini', body, 'gemini-2.5-flash')).toEqual({
      tokens: expected,
      images: 1,
    });
  });

  it('when a Gemini body is spelled in snake_case or wrapped in a countTokens request, then the count is the same', async () => {
    const body = fixture('gemini');
    const camel = await estimatePromptTokens('gemini', body, 'gemini-2.5-flash');
    const snake = JSON.parse(
      JSON.stringify(body)
        .replaceAll('systemInstruction', 'system_instruction')
        .replaceAll('functionDeclarations', 'function_declarations')
        .replaceAll('inlineData', 'inline_data')
        .replaceAll('mimeType', 'mime_type')
        .replaceAll('functionCall', 'function_call')
        .replaceAll('functionResponse', 'function_response')
        .replaceAll('generationConfig', 'generation_config')
        .replaceAll('maxOutputTokens', 'max_output_tokens'),
    );
    expect(await estimatePromptTokens('gemini', snake, 'gemini-2.5-flash')).toEqual(camel);
    expect(
      await estimatePromptTokens('gemini', { generateContentRequest: body }, 'gemini-2.5-flash'),
    ).toEqual(camel);
    expect(maxOutputTokens('gemini', snake)).toBe(256);
  });

  it('when the model is an OpenAI one behind a provider prefix, then the exact encoding is used', async () => {
    const body = { messages: [{ role: 'user', content: 'tiktoken is great!' }] };
    expect((await estimatePromptTokens('openai-chat', body, 'openai/gpt-4o')).tokens).toBe(
      framing(1) + 1 + 6,
    );
    expect((await estimatePromptTokens('anthropic-messages', body, 'claude-3-haiku')).tokens).toBe(
      framing(1) + approximateTokens('user') + approximateTokens('tiktoken is great!'),
    );
  });
});

describe('embeddings and legacy completions bodies', () => {
  it('when an embeddings input is a string or strings, then their tokens are counted without message framing', async () => {
    expect(
      await estimatePromptTokens('openai-chat', { input: 'hello world' }, 'text-embedding-3-small'),
    ).toEqual({
      tokens: 2,
      images: 0,
    });
    const many = { input: ['hello world', 'tiktoken is great!'] };
    expect((await estimatePromptTokens('openai-chat', many, 'text-embedding-3-small')).tokens).toBe(
      cl100kCount('hello world') + cl100kCount('tiktoken is great!'),
    );
  });
  it('when the input is token ids, then each id is one token', async () => {
    expect(
      (await estimatePromptTokens('openai-chat', { input: [1, 2, 3] }, 'text-embedding-3-small')).tokens,
    ).toBe(3);
    expect(
      (
        await estimatePromptTokens(
          'openai-chat',
          { input: [[1, 2], [3], 'hello world'] },
          'text-embedding-3-large',
        )
      ).tokens,
    ).toBe(5);
  });
  it('when a legacy completions body has a prompt, then the prompt is counted', async () => {
    const body = { prompt: ['hello world', '2 + 2 = 4'], max_tokens: 16 };
    expect((await estimatePromptTokens('openai-chat', body, 'gpt-3.5-turbo-instruct')).tokens).toBe(2 + 7);
    expect(maxOutputTokens('openai-chat', body)).toBe(16);
  });
});

describe('odd shapes', () => {
  const odd: unknown[] = [
    {},
    { messages: 'hi' },
    { messages: [null, 5, 'x', { role: 7, content: { text: 'x' } }, { content: [null, 3, { type: 9 }] }] },
    { messages: [{ role: 'user', content: [{ type: 'image_url' }, { type: 'text', text: 42 }] }] },
    { tools: 'none', functions: [{}], response_format: { type: 'json_schema' } },
    { input: [{ type: 'function_call', arguments: { a: 1 } }, null, 7, { role: 'user', content: 3 }] },
    { system: 5, messages: [{ role: 'user', content: [{ type: 'tool_result', content: { nope: 1 } }] }] },
    {
      contents: [{ parts: 'x' }, { parts: [{ functionCall: 'x' }, { functionResponse: { response: 1n } }] }],
    },
    { contents: [{ parts: [{ text: 'a' }] }], tools: [{ functionDeclarations: {} }], generationConfig: 3 },
  ];
  const formats: ClientFormat[] = ['openai-chat', 'openai-responses', 'anthropic-messages', 'gemini'];
  it.each(formats)(
    'when %s bodies have odd shapes, then an estimate comes back without throwing',
    async (format) => {
      for (const body of odd) {
        const got = await estimatePromptTokens(format, body as Record<string, unknown>, 'gpt-4o');
        expect(Number.isInteger(got.tokens) && got.tokens >= 0).toBe(true);
        expect(() => maxOutputTokens(format, body as Record<string, unknown>)).not.toThrow();
      }
      await expect(estimatePromptTokens(format, null as never, 'gpt-4o')).resolves.toEqual({
        tokens: 0,
        images: 0,
      });
      expect(maxOutputTokens(format, null as never)).toBeNull();
    },
  );
  it('when a nested array is too deep for JSON.stringify, then it still does not throw', async () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const body = {
      messages: [{ role: 'assistant', tool_calls: [{ function: { name: 'f', arguments: deep } }] }],
    };
    await expect(estimatePromptTokens('openai-chat', body, 'claude-x')).resolves.toMatchObject({ images: 0 });
  });
  it('when an image-only message is sent, then the image is counted even though there is no text', async () => {
    const body = {
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }],
    };
    expect(await estimatePromptTokens('openai-chat', body, 'claude-x')).toEqual({
      tokens: framing(1) + approximateTokens('user') + TOKENS_PER_IMAGE,
      images: 1,
    });
  });
});

describe('estimatePromptTokensSync', () => {
  it('when the encoding is loaded or not needed, then it matches the async estimate', async () => {
    const body = fixture('anthropic-messages');
    expect(estimatePromptTokensSync('anthropic-messages', body, 'claude-sonnet-4-5')).toEqual(
      await estimatePromptTokens('anthropic-messages', body, 'claude-sonnet-4-5'),
    );
    const chat = fixture('openai-chat');
    expect(estimatePromptTokensSync('openai-chat', chat, 'gpt-4o')).toEqual(
      await estimatePromptTokens('openai-chat', chat, 'gpt-4o'),
    );
  });
});

describe('maxOutputTokens', () => {
  it('when each format names its limit, then that limit is read', () => {
    expect(maxOutputTokens('openai-chat', fixture('openai-chat'))).toBe(512); // max_completion_tokens wins
    expect(maxOutputTokens('openai-chat', { max_tokens: 100 })).toBe(100);
    expect(maxOutputTokens('openai-responses', fixture('openai-responses'))).toBe(300);
    expect(maxOutputTokens('anthropic-messages', fixture('anthropic-messages'))).toBe(1024);
    expect(maxOutputTokens('gemini', fixture('gemini'))).toBe(256);
    expect(
      maxOutputTokens('gemini', { generateContentRequest: { generationConfig: { maxOutputTokens: 9 } } }),
    ).toBe(9);
  });
  it("when a format's limit is missing, misspelt for that format or not a positive integer, then it is null", () => {
    expect(maxOutputTokens('openai-chat', {})).toBeNull();
    expect(maxOutputTokens('openai-responses', { max_tokens: 100 })).toBeNull();
    expect(maxOutputTokens('anthropic-messages', { max_output_tokens: 100 })).toBeNull();
    expect(maxOutputTokens('gemini', { max_tokens: 100 })).toBeNull();
    expect(maxOutputTokens('anthropic-messages', { max_tokens: '100' })).toBeNull();
    expect(maxOutputTokens('anthropic-messages', { max_tokens: 0 })).toBeNull();
    expect(maxOutputTokens('anthropic-messages', { max_tokens: 1.5 })).toBeNull();
    expect(maxOutputTokens('openai-chat', { max_completion_tokens: null, max_tokens: 7 })).toBe(7);
  });
});
