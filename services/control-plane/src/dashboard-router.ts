import express, { type Router } from 'express';
import type { Logger } from 'pino';
import { NotFoundError } from '@switchyard/core';
import { adminErrorHandler, parseInput } from './admin-errors.js';
import { callerOf, requireClientKey } from './dashboard-auth.js';
import type { DashboardCallers } from './dashboard-caller.js';
import {
  toDashboardBalanceView,
  toDashboardUsageView,
  type DashboardBalanceView,
  type DashboardUsagePageView,
} from './dashboard-view.js';
import { PAGE_DEFAULT_LIMIT } from './page-query.js';
import { nextUsageCursor } from './usage-cursor.js';
import { dashboardUsageInput, summaryRange } from './usage-input.js';
import type { UsageFilter, UsageQuery } from './usage-query.js';
import { toUsageSummaryRowView, toUsageSummaryView } from './usage-view.js';

/** What the dashboard handlers share. */
export interface DashboardContext {
  callers: DashboardCallers;
  usage: UsageQuery;
  logger: Logger;
  now: () => number;
}

/**
 * The key owners' dashboard, meant to be mounted at `/v1/dashboard`: `GET /balance` and `GET /usage`,
 * authenticated with a client key (not the admin token). A caller sees its user's usage (every key
 * of the user) or, for a key of no user, that key's; nothing else. Errors use the OpenAI shape.
 */
export function createDashboardRouter(ctx: DashboardContext): Router {
  const router = express.Router();
  router.use(requireClientKey(ctx.callers, ctx.now));

  router.get('/balance', (_req, res) => {
    const body: DashboardBalanceView = toDashboardBalanceView(callerOf(res));
    res.json(body);
  });

  router.get('/usage', async (req, res) => {
    const caller = callerOf(res);
    const query = parseInput(dashboardUsageInput, req.query, 'query');
    const range = summaryRange(query.since, query.until, ctx.now());
    // The scope comes from the key, never from the query: the query's filters can only narrow it.
    const filter: UsageFilter = { model: query.model, status: query.status, ...range };
    let outOfScope = false;
    if (caller.user === null) {
      filter.keyId = caller.key.id;
      outOfScope = query.key_id !== undefined && query.key_id !== caller.key.id;
    } else {
      filter.userId = caller.user.id;
      filter.keyId = query.key_id;
    }
    const groupBy = query.group_by ?? 'model';
    const summary = outOfScope ? [] : await ctx.usage.summary({ ...filter, ...range }, groupBy);
    const page = outOfScope
      ? { rows: [], hasMore: false }
      : await ctx.usage.page({
          ...filter,
          beforeId: query.cursor,
          limit: query.limit ?? PAGE_DEFAULT_LIMIT,
        });
    const body: DashboardUsagePageView = {
      scope:
        caller.user === null
          ? { user_id: null, key_id: caller.key.id }
          : { user_id: caller.user.id, key_id: null },
      summary: toUsageSummaryView(groupBy, range, summary.map(toUsageSummaryRowView)),
      data: page.rows.map(toDashboardUsageView),
      next_cursor: nextUsageCursor(page),
    };
    res.json(body);
  });

  router.use((req, _res, next) => {
    next(new NotFoundError(`No dashboard route ${req.method} ${req.path}.`, 'route_not_found'));
  });
  router.use(adminErrorHandler(ctx.logger));
  return router;
}
