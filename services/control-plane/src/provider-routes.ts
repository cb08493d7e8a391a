import type { Router } from 'express';
import { providerViews } from './provider-view.js';

/** `GET /providers`: the provider catalogue, so admins and tools can see what each provider needs. */
export function registerProviderRoutes(router: Router): void {
  router.get('/providers', (_req, res) => {
    res.json({ data: providerViews() });
  });
}
