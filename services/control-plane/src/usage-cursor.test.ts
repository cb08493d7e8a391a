import { describe, expect, it } from 'vitest';
import { decodeUsageCursor, encodeUsageCursor } from './usage-cursor.js';

describe('usage cursor', () => {
  it('round-trips an id and looks opaque', () => {
    const cursor = encodeUsageCursor(12345);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(cursor).not.toContain('12345');
    expect(decodeUsageCursor(cursor)).toBe(12345);
  });

  it.each(['', '12345', 'MTIz', 'dTow', 'dTotMQ', 'not a cursor!', 'u'.repeat(100)])(
    'refuses %j',
    (cursor) => {
      expect(decodeUsageCursor(cursor)).toBeUndefined();
    },
  );
});
