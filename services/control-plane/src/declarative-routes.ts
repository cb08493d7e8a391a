import type { Router } from 'express';
import { z } from 'zod';
import type { AdminContext } from './admin-context.js';
import { parseInput } from './admin-errors.js';
import type { DeclaredChange } from './declarative-applier.js';
import { booleanQuery } from './page-query.js';

/** Query of POST /apply. */
const applyQuery = z.object({ dry_run: booleanQuery.optional() });

/** The answer to POST /apply: what changed (or, dry, would change), entry by entry. Never a secret. */
export interface ApplyView {
  dry_run: boolean;
  changes: DeclaredChange[];
}

/**
 * `POST /apply`: makes the configuration match a declarative document (switchyard.yaml as JSON, its
 * secrets resolved to `{ value }` by the caller) in one transaction; `?dry_run=true` reports without
 * writing. The snapshot is republished once, and only when something changed.
 */
export function registerDeclarativeRoutes(router: Router, ctx: AdminContext): void {
  router.post('/apply', async (req, res) => {
    const { dry_run } = parseInput(applyQuery, req.query, 'query');
    const outcome = await ctx.apply(req.body, { dryRun: dry_run ?? false });
    const body: ApplyView = { dry_run: outcome.dryRun, changes: outcome.changes };
    res.json(body);
  });
}
