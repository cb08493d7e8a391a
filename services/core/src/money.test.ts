import { describe, expect, it } from 'vitest';
import { formatRatio, formatUsd, MAX_NANOS, parseRatio, parseUsd } from './money.js';

describe('USD amounts as nano-USD', () => {
  it.each([
    ['10', 10_000_000_000],
    ['0.000002', 2_000],
    ['0.000000001', 1],
    [' 2.5 ', 2_500_000_000],
    [0, 0],
    [0.1, 100_000_000],
    [12.345, 12_345_000_000],
    [1e-9, 1],
    ['9000000', 9_000_000_000_000_000],
  ])('when %j is parsed, then it is %i nano-USD exactly', (input, nanos) => {
    expect(parseUsd(input)).toBe(nanos);
  });

  it.each([
    ['-1'],
    [-0.5],
    ['1.0000000001'],
    ['1e3'],
    ['abc'],
    [''],
    [null],
    [{}],
    [Number.NaN],
    ['10000000'],
  ])('when %j is parsed, then it is refused', (input) => {
    expect(parseUsd(input)).toBeNull();
  });

  it('when the largest safe amount is parsed, then it round-trips through formatUsd', () => {
    expect(parseUsd(formatUsd(MAX_NANOS))).toBe(MAX_NANOS);
  });

  it.each([
    [2_500_000_000, '2.5'],
    [1, '0.000000001'],
    [0, '0'],
    [-4_200, '-0.0000042'],
    [10_000_000_000, '10'],
  ])('when %i nano-USD is formatted, then it reads %s', (nanos, text) => {
    expect(formatUsd(nanos)).toBe(text);
    expect(parseUsd(text.replace('-', ''))).toBe(Math.abs(nanos));
  });
});

describe('price ratios as ppm', () => {
  it.each([
    [1, 1_000_000],
    ['0.8', 800_000],
    [1.25, 1_250_000],
    ['0', 0],
    [1000, 1_000_000_000],
  ])('when %j is parsed, then it is %i ppm', (input, ppm) => {
    expect(parseRatio(input)).toBe(ppm);
    expect(formatRatio(ppm)).toBe(Number(input));
  });

  it.each([[-1], ['1.0000001'], [1000.5], ['x'], [null]])(
    'when %j is parsed, then it is refused',
    (input) => {
      expect(parseRatio(input)).toBeNull();
    },
  );
});
