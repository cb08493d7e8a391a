import { sql, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import { z } from 'zod';

/**
 * Keyset pagination for the admin lists (users, keys): rows in id order, a page of `limit` rows and
 * an opaque `next_cursor` naming the last id returned. Opaque so the scheme can change without
 * breaking clients that just echo `next_cursor` back. The usage lists page the same way, newest
 * first, with their own cursor (usage-cursor.ts); the query-string parsers here serve both.
 */

/** Why 500: one page stays a few hundred kilobytes of JSON; clients page with the cursor. */
export const PAGE_MAX_LIMIT = 500;
export const PAGE_DEFAULT_LIMIT = 50;

/** Which list a cursor belongs to: a cursor of one list is refused by another. */
export type PageKind = 'users' | 'keys';

/** base64url of `<kind>:<last id>`. */
export function encodePageCursor(kind: PageKind, lastId: number): string {
  return Buffer.from(`${kind}:${lastId}`, 'utf8').toString('base64url');
}

/** The id a cursor of `kind` stands for, or undefined when it is not one this server issued for it. */
export function decodePageCursor(kind: PageKind, cursor: string): number | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^([a-z]+):([1-9]\d{0,15})$/.exec(text);
  if (m === null || m[1] !== kind) return undefined;
  const id = Number(m[2]);
  return Number.isSafeInteger(id) ? id : undefined;
}

/** A query-string value parsed by `parse`, with `hint` as the error when it returns undefined. */
export function queryValue<T>(parse: (text: string) => T | undefined, hint: string) {
  return z.string().transform((text, ctx) => {
    const value = parse(text);
    if (value === undefined) {
      ctx.issues.push({ code: 'custom', input: text, message: hint });
      return z.NEVER;
    }
    return value;
  });
}

export function parsePositiveInt(text: string): number | undefined {
  if (!/^[1-9]\d{0,15}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A page size (`limit`): an integer from 1 to PAGE_MAX_LIMIT. */
export const limitQuery = queryValue((t) => {
  const n = parsePositiveInt(t);
  return n !== undefined && n <= PAGE_MAX_LIMIT ? n : undefined;
}, `must be an integer from 1 to ${PAGE_MAX_LIMIT}`);

/** `limit` and `cursor` of a paged list. */
export function pageQueryFields(kind: PageKind) {
  return {
    limit: limitQuery.optional(),
    cursor: queryValue(
      (t) => decodePageCursor(kind, t),
      'is not a cursor returned by this endpoint',
    ).optional(),
  };
}

/** `true` or `false`. */
export const booleanQuery = queryValue(
  (t) => (t === 'true' ? true : t === 'false' ? false : undefined),
  'must be true or false',
);

/** A positive integer id (`user_id=3`). */
export const idQuery = queryValue(parsePositiveInt, 'must be a positive integer');

/** A substring filter (`q`): matched case-insensitively (ASCII on SQLite). */
export const substringQuery = z.string().trim().min(1, 'must not be empty').max(191);

/** One page of rows: `limit + 1` were asked for, so `hasMore` needs no COUNT. */
export interface Page<T> {
  rows: T[];
  hasMore: boolean;
}

/** Which rows of an id-ordered list a page holds: the repositories' side of `cursor` and `limit`. */
export interface PageWindow {
  /** Only rows with a greater id (the decoded cursor). */
  afterId?: number | undefined;
  limit: number;
}

/** The window a parsed `cursor` and `limit` ask for: from the start, PAGE_DEFAULT_LIMIT rows, when absent. */
export function pageWindow(query: { cursor?: number | undefined; limit?: number | undefined }): PageWindow {
  return { afterId: query.cursor, limit: query.limit ?? PAGE_DEFAULT_LIMIT };
}

/** The rows of `query` (one table with an `id` column) in `window`, in id order. */
export async function readPage<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  window: PageWindow,
): Promise<Page<O>> {
  const after = window.afterId === undefined ? query : query.where(sql.ref('id'), '>', window.afterId);
  // One extra row tells whether another page exists without a COUNT.
  const rows = await after
    .orderBy(sql.ref('id'))
    .limit(window.limit + 1)
    .execute();
  return { rows: rows.slice(0, window.limit), hasMore: rows.length > window.limit };
}

/** The `next_cursor` of a page whose rows have ids. */
export function nextCursor(kind: PageKind, page: Page<{ id: number }>): string | null {
  const last = page.rows.at(-1);
  return page.hasMore && last !== undefined ? encodePageCursor(kind, last.id) : null;
}

/** A paged list as the admin API answers it. */
export interface PageView<V> {
  data: V[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

/** The answer for one page of a `kind` list: its rows as views and the cursor of the next page. */
export function toPageView<T extends { id: number }, V>(
  kind: PageKind,
  page: Page<T>,
  toView: (row: T) => V,
): PageView<V> {
  return { data: page.rows.map((row) => toView(row)), next_cursor: nextCursor(kind, page) };
}

/**
 * `column` contains `needle`, case-insensitively: `instr(lower(column), lower(needle)) > 0`, which
 * SQLite and MySQL both spell this way (and which, unlike LIKE, needs no escaping of `%` and `_`).
 */
export function containsText(column: string, needle: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`instr(lower(${sql.ref(column)}), ${needle.toLowerCase()}) > 0`;
}
