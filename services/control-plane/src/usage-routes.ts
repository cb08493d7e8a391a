import type { Request, Router } from 'express';
import type { AdminContext } from './admin-context.js';
import { parseInput } from './admin-errors.js';
import { PAGE_DEFAULT_LIMIT } from './page-query.js';
import { csvHeaderLine, csvRowLine, sendCsv } from './usage-csv.js';
import { nextUsageCursor } from './usage-cursor.js';
import {
  summaryRange,
  usageQueryInput,
  usageSummaryInput,
  wantsCsv,
  type UsageQueryInput,
} from './usage-input.js';
import type { UsageFilter } from './usage-query.js';
import {
  toUsageSummaryRowView,
  toUsageSummaryView,
  toUsageView,
  USAGE_CSV_COLUMNS,
  usageSummaryCsvColumns,
  type UsagePageView,
  type UsageSummaryView,
} from './usage-view.js';

/**
 * Why 1000: a CSV export reads the database a page at a time, so memory stays one page however many
 * rows match; 1000 rows is a few hundred kilobytes and one index range scan.
 */
const CSV_PAGE_ROWS = 1000;

function filterOf(q: Omit<UsageQueryInput, 'limit' | 'cursor' | 'format'>): UsageFilter {
  return {
    userId: q.user_id,
    keyId: q.key_id,
    model: q.model,
    channelId: q.channel_id,
    status: q.status,
    since: q.since,
    until: q.until,
  };
}

const accepts = (req: Request) => (types: string[]) => req.accepts(types);

/**
 * `GET /usage`: usage logs newest first, filtered and paged with an opaque cursor, or (`format=csv`
 * / `Accept: text/csv`) every matching row as a CSV download. `GET /usage/summary`: per UTC day and
 * model, key, user or channel, with exact latency percentiles, over at most 93 days.
 */
export function registerUsageRoutes(router: Router, ctx: AdminContext): void {
  router.get('/usage', async (req, res) => {
    const query = parseInput(usageQueryInput, req.query, 'query');
    const filter = filterOf(query);
    if (wantsCsv(query.format, accepts(req))) {
      await sendCsv(res, 'usage.csv', ctx.logger, async (write) => {
        if (!(await write(csvHeaderLine(USAGE_CSV_COLUMNS)))) return;
        let beforeId = query.cursor;
        for (;;) {
          const page = await ctx.usage.page({ ...filter, beforeId, limit: CSV_PAGE_ROWS });
          const text = page.rows.map((r) => csvRowLine(USAGE_CSV_COLUMNS, toUsageView(r))).join('');
          if (text !== '' && !(await write(text))) return;
          const last = page.rows.at(-1);
          if (!page.hasMore || last === undefined) return;
          beforeId = last.id;
        }
      });
      return;
    }
    const page = await ctx.usage.page({
      ...filter,
      beforeId: query.cursor,
      limit: query.limit ?? PAGE_DEFAULT_LIMIT,
    });
    const body: UsagePageView = { data: page.rows.map(toUsageView), next_cursor: nextUsageCursor(page) };
    res.json(body);
  });

  router.get('/usage/summary', async (req, res) => {
    const query = parseInput(usageSummaryInput, req.query, 'query');
    const range = summaryRange(query.since, query.until, ctx.now());
    const groupBy = query.group_by ?? 'model';
    const rows = (await ctx.usage.summary({ ...filterOf(query), ...range }, groupBy)).map(
      toUsageSummaryRowView,
    );
    if (wantsCsv(query.format, accepts(req))) {
      const columns = usageSummaryCsvColumns(groupBy);
      await sendCsv(res, `usage-summary-by-${groupBy}.csv`, ctx.logger, async (write) => {
        await write(csvHeaderLine(columns) + rows.map((r) => csvRowLine(columns, r)).join(''));
      });
      return;
    }
    const body: UsageSummaryView = toUsageSummaryView(groupBy, range, rows);
    res.json(body);
  });
}
