import type { Router } from 'express';
import { NotFoundError } from '@switchyard/core';
import type { AdminContext } from './admin-context.js';
import { parseInput } from './admin-errors.js';
import { parsePathId } from './path-id.js';
import { conflict } from './proxy-assignment.js';
import { checkProxyUrl, proxyCreateInput, proxyPatchInput } from './proxy-input.js';
import { toProxyView } from './proxy-view.js';

function proxyNotFound(raw: unknown): NotFoundError {
  return new NotFoundError(`Proxy '${String(raw)}' does not exist.`, 'proxy_not_found', 'id');
}

/**
 * `/proxies` CRUD. The proxy URL is stored encrypted (it may carry a password) and shown masked; every
 * write republishes the snapshot, whose accounts carry their proxy's decrypted URL.
 */
export function registerProxyRoutes(router: Router, ctx: AdminContext): void {
  router.get('/proxies', async (_req, res) => {
    const proxies = await ctx.proxies.list();
    res.json({ data: proxies.map(toProxyView) });
  });

  router.post('/proxies', async (req, res) => {
    const input = parseInput(proxyCreateInput, req.body, 'body');
    const url = checkProxyUrl(input.url, ctx.upstreamPolicy);
    const proxy = await ctx.proxies.create(
      {
        name: input.name,
        url: ctx.secretBox.encrypt(url.url),
        displayUrl: url.displayUrl,
        maxAccounts: input.max_accounts ?? null,
        enabled: input.enabled ?? true,
      },
      ctx.now(),
    );
    await ctx.publish();
    ctx.logger.info({ proxyId: proxy.id }, 'proxy created');
    res.status(201).json(toProxyView(proxy));
  });

  router.get('/proxies/:id', async (req, res) => {
    const id = parsePathId(req.params.id);
    const proxy = id === undefined ? undefined : await ctx.proxies.get(id);
    if (proxy === undefined) throw proxyNotFound(req.params.id);
    res.json(toProxyView(proxy));
  });

  router.patch('/proxies/:id', async (req, res) => {
    const id = parsePathId(req.params.id);
    if (id === undefined) throw proxyNotFound(req.params.id);
    const input = parseInput(proxyPatchInput, req.body, 'body');
    const url = input.url === undefined ? undefined : checkProxyUrl(input.url, ctx.upstreamPolicy);
    const proxy = await ctx.proxies.update(
      id,
      {
        name: input.name,
        ...(url !== undefined && { url: ctx.secretBox.encrypt(url.url), displayUrl: url.displayUrl }),
        maxAccounts: input.max_accounts,
        enabled: input.enabled,
      },
      ctx.now(),
    );
    if (proxy === undefined) throw proxyNotFound(req.params.id);
    await ctx.publish();
    ctx.logger.info({ proxyId: id, fields: Object.keys(input) }, 'proxy updated');
    res.json(toProxyView(proxy));
  });

  router.delete('/proxies/:id', async (req, res) => {
    const id = parsePathId(req.params.id);
    const outcome = id === undefined ? 'not_found' : await ctx.proxies.delete(id);
    if (outcome === 'not_found') throw proxyNotFound(req.params.id);
    if (outcome === 'in_use') {
      throw conflict(
        `Proxy ${String(id)} still has accounts assigned; move them (PATCH /accounts/{id} proxy_id) first.`,
        'proxy_in_use',
        'id',
      );
    }
    await ctx.publish();
    ctx.logger.info({ proxyId: id }, 'proxy deleted');
    res.status(204).end();
  });
}
