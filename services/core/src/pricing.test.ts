import { describe, expect, it } from 'vitest';
import { costNano, findPrice, type ModelPrice } from './pricing.js';

const price = (model: string, over: Partial<ModelPrice> = {}): ModelPrice => ({
  model,
  inputNano: 2_500_000_000,
  outputNano: 10_000_000_000,
  cachedInputNano: 1_250_000_000,
  reasoningNano: null,
  perRequestNano: 0,
  perImageNano: 0,
  ...over,
});

describe('findPrice', () => {
  const table = [
    price('gpt-4o'),
    price('gpt-4o*', { inputNano: 1 }),
    price('gpt-4o-mini*', { inputNano: 2 }),
    price('claude-*', { inputNano: 3 }),
  ];

  it.each([
    ['gpt-4o', null, 'gpt-4o'],
    ['gpt-4o-2024-08-06', null, 'gpt-4o*'],
    ['gpt-4o-mini-2024-07-18', null, 'gpt-4o-mini*'],
    ['claude-sonnet-4', null, 'claude-*'],
    ['house-model', 'gpt-4o', 'gpt-4o'],
    ['gpt-4o', 'claude-x', 'gpt-4o'],
  ])('when %s (upstream %s) is priced, then the row %s applies', (model, upstream, want) => {
    expect(findPrice(table, model, upstream)?.model).toBe(want);
  });

  it('when neither model is priced, then there is no price', () => {
    expect(findPrice(table, 'llama-3', 'mistral')).toBeNull();
  });
});

describe('costNano', () => {
  const p = price('gpt-4o', { perRequestNano: 1_000, perImageNano: 500_000 });
  it.each([
    // prompt, cached, completion, reasoning, images, ratio ppm, expected nano-USD
    [1_000, 0, 0, 0, 0, 1_000_000, 2_500_000 + 1_000],
    [1_000, 400, 0, 0, 0, 1_000_000, 600 * 2_500 + 400 * 1_250 + 1_000],
    [0, 0, 100, 0, 0, 1_000_000, 100 * 10_000 + 1_000],
    [0, 0, 100, 60, 0, 1_000_000, 100 * 10_000 + 1_000],
    [10, 0, 10, 0, 2, 1_500_000, (10 * 2_500 + 10 * 10_000 + 1_000 + 2 * 500_000) * 1.5],
    [3, 0, 0, 0, 0, 333_333, Math.round((3 * 2_500 + 1_000) * 0.333333)],
    [1, 5, 0, 0, 0, 1_000_000, 1_250 + 1_000],
  ])(
    'when %i prompt (%i cached), %i completion (%i reasoning), %i images at ratio %i ppm are billed, then the cost is %i',
    (prompt, cached, completion, reasoning, images, ratio, want) => {
      expect(
        costNano(
          p,
          {
            promptTokens: prompt,
            cachedTokens: cached,
            completionTokens: completion,
            reasoningTokens: reasoning,
            images,
          },
          ratio,
        ),
      ).toBe(want);
    },
  );

  it('when reasoning has its own price, then reasoning tokens use it', () => {
    const r = price('o3', { reasoningNano: 20_000_000_000 });
    expect(
      costNano(r, { promptTokens: 0, cachedTokens: 0, completionTokens: 10, reasoningTokens: 4, images: 0 }),
    ).toBe(6 * 10_000 + 4 * 20_000);
  });

  it('when token counts are huge, then the cost is still exact', () => {
    const big = price('x', { inputNano: 75_000_000_000, cachedInputNano: null });
    expect(
      costNano(big, {
        promptTokens: 123_456_789,
        cachedTokens: 0,
        completionTokens: 0,
        reasoningTokens: 0,
        images: 0,
      }),
    ).toBe(123_456_789 * 75_000);
  });

  it('when there is no price, then the cost is 0', () => {
    expect(
      costNano(null, {
        promptTokens: 5,
        cachedTokens: 0,
        completionTokens: 5,
        reasoningTokens: 0,
        images: 0,
      }),
    ).toBe(0);
  });
});
