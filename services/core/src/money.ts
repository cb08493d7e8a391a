/**
 * Money is kept as integer nano-USD (1e-9 USD) everywhere: in the database (bigint), in the
 * coordination store and on usage events. A token of the cheapest priced model costs a few nano-USD,
 * so no request rounds to zero, and JavaScript numbers stay exact up to about 9 million USD per
 * balance (Number.MAX_SAFE_INTEGER nano-USD), the largest quota the admin API accepts.
 */
export const NANOS_PER_USD = 1_000_000_000;

/** The largest amount (nano-USD) a balance, quota or price may hold: exact as a JavaScript number. */
export const MAX_NANOS = Number.MAX_SAFE_INTEGER;

const DECIMAL = /^(\d{1,16})(?:\.(\d{1,9}))?$/;

/**
 * Parses a non-negative USD amount given as a decimal string (`"10"`, `"0.000002"`) or a JSON number
 * into nano-USD, exactly (no floating point for strings). Returns null when it is not one, has more
 * than 9 decimals, or exceeds MAX_NANOS.
 */
export function parseUsd(value: unknown): number | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return null;
    // A JSON number's shortest round-trip form (`0.1` stays `0.1`); exponents are spelled out.
    text = value.toFixed(9).replace(/\.?0+$/, '');
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return null;
  }
  const m = DECIMAL.exec(text);
  if (m === null) return null;
  const whole = BigInt(m[1]!);
  const frac = BigInt((m[2] ?? '').padEnd(9, '0'));
  const nanos = whole * 1_000_000_000n + frac;
  if (nanos > BigInt(MAX_NANOS)) return null;
  return Number(nanos);
}

/** Formats nano-USD as a decimal string without trailing zeros (`2500000000` → `"2.5"`); negative allowed. */
export function formatUsd(nanos: number): string {
  const n = BigInt(Math.trunc(nanos));
  const neg = n < 0n;
  const abs = neg ? -n : n;
  const whole = abs / 1_000_000_000n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac === '' ? '' : `.${frac}`}`;
}

/** Group price ratios are kept as integer parts per million (1.5 → 1_500_000). */
export const RATIO_ONE = 1_000_000;

/** Parses a price ratio (`1`, `0.8`, `"1.25"`; 0 to 1000, at most 6 decimals) into ppm, or null. */
export function parseRatio(value: unknown): number | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return null;
    text = value.toFixed(6).replace(/\.?0+$/, '');
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return null;
  }
  const m = /^(\d{1,4})(?:\.(\d{1,6}))?$/.exec(text);
  if (m === null) return null;
  const ppm = Number(m[1]) * RATIO_ONE + Number((m[2] ?? '').padEnd(6, '0'));
  return ppm > 1000 * RATIO_ONE ? null : ppm;
}

/** ppm → the ratio as a JSON number (1_500_000 → 1.5). */
export function formatRatio(ppm: number): number {
  return ppm / RATIO_ONE;
}
