import type { Router } from 'express';
import type { RelayPresence } from '@switchyard/core';
import type { AdminContext } from './admin-context.js';

/** A relay as the admin API shows it (snake_case, like every admin view). */
function relayView(p: RelayPresence): Record<string, unknown> {
  return {
    id: p.id,
    snapshot_version: p.snapshotVersion,
    started_at: p.startedAt,
    seen_at: p.seenAt,
    checks: p.checks,
  };
}

/**
 * `GET /relays`: every live relay (announced within its TTL) with the snapshot version it serves and
 * its dependencies, next to this control plane's own version. Versions come from one counter in the
 * database, so they compare across control-plane replicas. `registry: null` when this control plane
 * has no registry to read (a distributed one without SWITCHYARD_REDIS_URL): the list is then unknown,
 * not empty.
 */
export function registerRelayRoutes(router: Router, ctx: AdminContext): void {
  router.get('/relays', async (_req, res) => {
    res.json({
      control_plane_version: ctx.snapshotVersion(),
      registry: ctx.relays?.backend ?? null,
      data: ctx.relays === undefined ? [] : (await ctx.relays.registry.list()).map(relayView),
    });
  });
}
