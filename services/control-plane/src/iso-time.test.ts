import { describe, expect, it } from 'vitest';
import { parseIsoInstant, toIso } from './iso-time.js';

describe('parseIsoInstant', () => {
  it.each([
    ['2030-01-31', '2030-01-31T00:00:00.000Z'],
    ['2030-01-31T12:00Z', '2030-01-31T12:00:00.000Z'],
    ['2030-01-31T12:00:00.5Z', '2030-01-31T12:00:00.500Z'],
    ['2030-01-31T12:00:00+02:00', '2030-01-31T10:00:00.000Z'],
    ['2030-01-31t12:00:00z', '2030-01-31T12:00:00.000Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    const ms = parseIsoInstant(text);
    expect(ms === undefined ? undefined : toIso(ms)).toBe(iso);
  });

  it.each([
    'yesterday',
    '2030-01-31T12:00:00',
    '2026-02-29',
    '2030-04-31',
    '2030-13-01',
    '2030-01-31T24:00:00Z',
    '2030-01-31T12:60:00Z',
    '2030-01-31T12:00:00+25:00',
    '2030-1-31',
    '1893456000000',
  ])('refuses %s', (text) => {
    expect(parseIsoInstant(text)).toBeUndefined();
  });
});
