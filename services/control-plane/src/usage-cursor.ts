import type { Page } from './page-query.js';

/**
 * The opaque `cursor` of GET /usage: base64url of the last row id returned. Opaque so the pagination
 * scheme can change without breaking clients that just echo `next_cursor` back.
 */
export function encodeUsageCursor(lastId: number): string {
  return Buffer.from(`u:${lastId}`, 'utf8').toString('base64url');
}

/** The id a cursor stands for, or undefined when it is not one this server issued. */
export function decodeUsageCursor(cursor: string): number | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return undefined;
  const m = /^u:([1-9]\d{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (m === null) return undefined;
  const id = Number(m[1]);
  return Number.isSafeInteger(id) ? id : undefined;
}

/** The `next_cursor` of a usage page: the cursor of its last (oldest) row, or null on the last page. */
export function nextUsageCursor(page: Page<{ id: number }>): string | null {
  const last = page.rows.at(-1);
  return page.hasMore && last !== undefined ? encodeUsageCursor(last.id) : null;
}
