/**
 * The 1-based rank of the `p`-th percentile among `n` values sorted ascending, by the nearest-rank
 * method: the smallest rank r with r / n ≥ p / 100, i.e. ceil(p · n / 100), at least 1. The value at
 * that rank is an observed latency (no interpolation), so percentiles are exact and reproducible.
 */
export function nearestRank(p: number, n: number): number {
  if (n <= 0) return 0;
  // p and n are integers: p · n is exact, and a non-integer quotient is at least 1/100 from the next
  // integer, far beyond any rounding of the division.
  return Math.min(n, Math.max(1, Math.ceil((p * n) / 100)));
}
