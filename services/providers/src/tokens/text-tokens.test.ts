import { readFileSync } from 'node:fs';
import * as cl100k from 'gpt-tokenizer/encoding/cl100k_base';
import * as o200k from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import {
  approximateTokens,
  countTextTokens,
  countTextTokensSync,
  preloadTokenizer,
  tokenizerFor,
} from './text-tokens.js';

// Runs first: nothing in this file has asked for an encoding yet.
describe('lazy loading', () => {
  it('when no encoding was asked for, then the synchronous count answers null, and the exact count after preloading', async () => {
    expect(countTextTokensSync('gpt-4o', 'hello world')).toBeNull();
    expect(countTextTokensSync('gpt-4', 'hello world')).toBeNull();
    await preloadTokenizer('gpt-4o-mini');
    expect(countTextTokensSync('gpt-4o', 'hello world')).toBe(2);
    // Loading one encoding does not load the other.
    expect(countTextTokensSync('gpt-4', 'hello world')).toBeNull();
  });
  it('when the model has no tiktoken encoding, then the synchronous count always answers', () => {
    expect(countTextTokensSync('claude-sonnet-4-5', 'abcdefgh')).toBe(2);
  });
});

describe('tokenizerFor', () => {
  const table: Array<[string, ReturnType<typeof tokenizerFor>]> = [
    ['gpt-4o', 'o200k_base'],
    ['gpt-4o-mini-2024-07-18', 'o200k_base'],
    ['chatgpt-4o-latest', 'o200k_base'],
    ['gpt-4.1-nano', 'o200k_base'],
    ['gpt-4.5-preview', 'o200k_base'],
    ['gpt-5', 'o200k_base'],
    ['gpt-5.1-codex', 'o200k_base'],
    ['o1', 'o200k_base'],
    ['o1-mini', 'o200k_base'],
    ['o3-pro', 'o200k_base'],
    ['o4-mini-deep-research', 'o200k_base'],
    ['gpt-oss-120b', 'o200k_base'],
    ['openai/gpt-4o', 'o200k_base'],
    ['OpenAI/GPT-5-mini', 'o200k_base'],
    ['ft:gpt-4o-mini:acme::abc123', 'o200k_base'],
    ['gpt-4', 'cl100k_base'],
    ['gpt-4-turbo', 'cl100k_base'],
    ['gpt-4-0613', 'cl100k_base'],
    ['gpt-4-32k', 'cl100k_base'],
    ['gpt-3.5-turbo', 'cl100k_base'],
    ['gpt-3.5-turbo-instruct', 'cl100k_base'],
    ['text-embedding-3-small', 'cl100k_base'],
    ['text-embedding-ada-002', 'cl100k_base'],
    ['openai/gpt-4-turbo', 'cl100k_base'],
    ['claude-sonnet-4-5', 'approximate'],
    ['anthropic/claude-3-haiku', 'approximate'],
    ['gemini-2.5-pro', 'approximate'],
    ['models/gemini-2.0-flash', 'approximate'],
    ['llama-3.1-70b', 'approximate'],
    ['o10-custom', 'approximate'],
    ['gpt-40', 'approximate'],
    ['my-gpt-4o', 'approximate'],
    ['', 'approximate'],
  ];
  it.each(table)('when the model is %j, then the tokenizer is %s', (model, expected) => {
    expect(tokenizerFor(model)).toBe(expected);
  });
});

describe('exact counts', () => {
  // Token ids from OpenAI's cookbook "How to count tokens with tiktoken" (compare_encodings) and the
  // tiktoken README's "hello world".
  const published: Array<[string, number[], number[]]> = [
    ['hello world', [15339, 1917], [24912, 2375]],
    ['tiktoken is great!', [83, 1609, 5963, 374, 2294, 0], [83, 8251, 2488, 382, 2212, 0]],
    [
      'antidisestablishmentarianism',
      [519, 85342, 34500, 479, 8997, 2191],
      [493, 129901, 376, 160388, 21203, 2367],
    ],
    ['2 + 2 = 4', [17, 489, 220, 17, 284, 220, 19], [17, 659, 220, 17, 314, 220, 19]],
    [
      'お誕生日おめでとう',
      [33334, 45918, 243, 21990, 9080, 33334, 62004, 16556, 78699],
      [8930, 9697, 243, 128225, 8930, 17693, 4344, 48669],
    ],
  ];
  it.each(published)(
    'when the text is %j, then cl100k_base and o200k_base count the published tokens',
    async (text, cl, o) => {
      expect(await countTextTokens('gpt-4', text)).toBe(cl.length);
      expect(await countTextTokens('gpt-4o', text)).toBe(o.length);
      // The ids themselves, so the count is of the same encoding the cookbook used.
      expect(cl100k.encode(text)).toEqual(cl);
      expect(o200k.encode(text)).toEqual(o);
    },
  );

  it('when the text is long prose and code, then the count equals the encoding of gpt-tokenizer itself', async () => {
    // The package's own docs: English prose, tables and code, ~25 KB (they mention `<|endoftext|>`).
    const plain = { disallowedSpecial: new Set<string>() };
    const doc = readFileSync(new URL('../../CONVERSION.md', import.meta.url), 'utf8');
    const text = `${doc}\n日本語のテキスト、中文文本, Ελληνικά, русский текст 😀`;
    expect(await countTextTokens('gpt-5', text)).toBe(o200k.encode(text, plain).length);
    expect(await countTextTokens('gpt-3.5-turbo', text)).toBe(cl100k.encode(text, plain).length);
    expect(await countTextTokens('gpt-5', text)).toBeGreaterThan(1000);
  });

  it('when the text holds special-token markup such as <|endoftext|>, then it is counted as plain text without throwing', async () => {
    const text = 'before <|endoftext|> after <|im_start|>user<|im_end|> <|fim_prefix|>';
    expect(() => o200k.encode(text)).toThrow(); // the library's default refuses it
    const n = await countTextTokens('gpt-4o', text);
    expect(n).toBe(o200k.encode(text, { disallowedSpecial: new Set() }).length);
    // As plain text `<|endoftext|>` is 7 tokens, not the 1 special token.
    expect(await countTextTokens('gpt-4', '<|endoftext|>')).toBe(7);
    expect(await countTextTokens('gpt-4o', '<|endoftext|>')).toBe(7);
    expect(countTextTokensSync('gpt-4o', '<|endoftext|>')).toBe(7);
  });

  it('when the text is empty, then it is 0 tokens', async () => {
    expect(await countTextTokens('gpt-4o', '')).toBe(0);
    expect(await countTextTokens('claude-3-opus', '')).toBe(0);
  });
});

describe('approximation', () => {
  const cases: Array<[string, number]> = [
    ['', 0],
    ['a', 1],
    ['abcd', 1],
    ['abcde', 2],
    ['The quick brown fox jumps over the lazy dog.', 11], // 44 ASCII characters
    ['你好世界', 4], // 1 per CJK character
    ['日本語 text', 3 + 2], // 3 CJK + ceil(5 ASCII / 4)
    ['héllo', 1 + 1], // ceil(4 / 4) + the é
    ['😀😀', 2], // one per code point, not per UTF-16 unit
  ];
  it.each(cases)('when the text is %j, then the estimate is %i', (text, expected) => {
    expect(approximateTokens(text)).toBe(expected);
  });
  it('when the model has no public tokenizer, then countTextTokens uses the estimate', async () => {
    expect(await countTextTokens('claude-sonnet-4-5', '你好, world')).toBe(approximateTokens('你好, world'));
    expect(await countTextTokens('gemini-2.5-pro', 'abcdefgh')).toBe(2);
  });
});
