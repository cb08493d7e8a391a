import type { Router } from 'express';
import type { AdminContext } from './admin-context.js';
import { parseInput } from './admin-errors.js';
import { encodeUsageCursor } from './usage-cursor.js';
import { USAGE_DEFAULT_LIMIT, usageQueryInput } from './usage-input.js';
import { toUsageView, type UsagePageView } from './usage-view.js';

/** `GET /usage`: usage logs newest first, filtered and paged with an opaque cursor. */
export function registerUsageRoutes(router: Router, ctx: AdminContext): void {
  router.get('/usage', async (req, res) => {
    const query = parseInput(usageQueryInput, req.query, 'query');
    const page = await ctx.usage.page({
      keyId: query.key_id,
      model: query.model,
      since: query.since,
      beforeId: query.cursor,
      limit: query.limit ?? USAGE_DEFAULT_LIMIT,
    });
    const last = page.rows.at(-1);
    const body: UsagePageView = {
      data: page.rows.map(toUsageView),
      next_cursor: page.hasMore && last !== undefined ? encodeUsageCursor(last.id) : null,
    };
    res.json(body);
  });
}
