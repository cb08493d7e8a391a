import express, { type Router } from 'express';
import type { AdminContext } from './admin-context.js';
import { registerAccountRoutes } from './account-routes.js';
import { requireAdminToken } from './admin-auth.js';
import { adminErrorHandler, adminNotFound } from './admin-errors.js';
import { registerChannelRoutes } from './channel-routes.js';
import { registerChannelTestRoutes } from './channel-test-routes.js';
import { registerDeclarativeRoutes } from './declarative-routes.js';
import { registerGroupRoutes } from './group-routes.js';
import { registerKeyRoutes } from './key-routes.js';
import { registerModelAliasRoutes } from './model-alias-routes.js';
import { registerOAuthRoutes } from './oauth-routes.js';
import { registerPriceRoutes } from './price-routes.js';
import { registerProviderRoutes } from './provider-routes.js';
import { registerProxyRoutes } from './proxy-routes.js';
import { registerRelayRoutes } from './relay-routes.js';
import { registerUsageRoutes } from './usage-routes.js';
import { registerUserRoutes } from './user-routes.js';

/** Why 1 MiB: the largest admin body (a channel with 100 accounts and 1000 models) is far smaller. */
const BODY_LIMIT = '1mb';

/**
 * The admin REST API, meant to be mounted at `/admin/v1`. Authentication runs before the body is
 * parsed, so an anonymous caller cannot make the server read a large body; every path under the mount,
 * known or not, answers in the OpenAI error shape.
 */
export function createAdminRouter(ctx: AdminContext, adminTokenHash: string): Router {
  const router = express.Router();
  router.use(requireAdminToken(adminTokenHash));
  router.use(express.json({ limit: BODY_LIMIT }));
  registerProviderRoutes(router);
  registerChannelRoutes(router, ctx);
  registerChannelTestRoutes(router, ctx);
  registerAccountRoutes(router, ctx);
  registerOAuthRoutes(router, ctx);
  registerProxyRoutes(router, ctx);
  registerModelAliasRoutes(router, ctx);
  registerKeyRoutes(router, ctx);
  registerUserRoutes(router, ctx);
  registerGroupRoutes(router, ctx);
  registerPriceRoutes(router, ctx);
  registerUsageRoutes(router, ctx);
  registerRelayRoutes(router, ctx);
  registerDeclarativeRoutes(router, ctx);
  router.use(adminNotFound);
  router.use(adminErrorHandler(ctx.logger));
  return router;
}
