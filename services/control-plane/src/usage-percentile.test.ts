import { describe, expect, it } from 'vitest';
import { nearestRank } from './usage-percentile.js';

describe('nearest-rank percentiles', () => {
  it.each([
    [50, 1, 1],
    [95, 1, 1],
    [50, 2, 1],
    [50, 4, 2],
    [50, 5, 3],
    [95, 20, 19],
    [95, 21, 20],
    [95, 100, 95],
    [95, 101, 96],
    [100, 7, 7],
    [0, 7, 1],
  ])('p%i of %i values is rank %i', (p, n, rank) => {
    expect(nearestRank(p, n)).toBe(rank);
  });
});
