import type { Router } from 'express';
import { InvalidRequestError, NotFoundError } from '@switchyard/core';
import type { AdminContext } from './admin-context.js';
import { parseInput } from './admin-errors.js';
import {
  accountCreateInput,
  accountDisableInput,
  accountPatchInput,
  checkAccountCredential,
} from './account-input.js';
import { ADMIN_DISABLED_REASON } from './account-repository.js';
import { toAccountView, type AccountView } from './account-view.js';
import type { StoredAccount } from './channel-repository.js';
import { accountCoordinationKey, readAccountHealth } from './health-view.js';
import { parsePathId } from './path-id.js';

function accountNotFound(raw: unknown): NotFoundError {
  return new NotFoundError(`Account '${String(raw)}' does not exist.`, 'account_not_found', 'id');
}

function channelNotFound(raw: unknown): NotFoundError {
  return new NotFoundError(`Channel '${String(raw)}' does not exist.`, 'channel_not_found', 'id');
}

/** The accounts' views with their health, read with one coordination-store round trip per kind. */
async function accountViews(ctx: AdminContext, accounts: readonly StoredAccount[]): Promise<AccountView[]> {
  const health = await readAccountHealth(ctx.coordination, accounts, ctx.now(), ctx.logger);
  return accounts.map((a, i) => {
    const h = health[i];
    if (h === undefined) throw new Error('readAccountHealth returned fewer entries than accounts');
    return toAccountView(a, h);
  });
}

async function accountView(ctx: AdminContext, account: StoredAccount): Promise<AccountView> {
  const [view] = await accountViews(ctx, [account]);
  if (view === undefined) throw new Error('accountViews returned no view');
  return view;
}

/**
 * Accounts as their own resource (`/channels/:id/accounts`, `/accounts/:id`), their admin
 * disable/enable switch, and per-account health (`/channels/:id/health`). Credentials are checked
 * against the channel's provider, stored encrypted and never returned. Every write republishes the
 * snapshot before answering.
 */
export function registerAccountRoutes(router: Router, ctx: AdminContext): void {
  router.get('/channels/:id/accounts', async (req, res) => {
    const id = parsePathId(req.params.id);
    const channel = id === undefined ? undefined : await ctx.channels.get(id);
    if (channel === undefined) throw channelNotFound(req.params.id);
    res.json({ data: await accountViews(ctx, channel.accounts) });
  });

  router.post('/channels/:id/accounts', async (req, res) => {
    const channelId = parsePathId(req.params.id);
    if (channelId === undefined) throw channelNotFound(req.params.id);
    const input = parseInput(accountCreateInput, req.body, 'body');
    const account = await ctx.accounts.create(
      channelId,
      (channel) => {
        checkAccountCredential(channel.provider, input.api_key, ctx.upstreamPolicy);
        return {
          name: input.name ?? `account-${channel.accounts + 1}`,
          credential: ctx.secretBox.encrypt(input.api_key),
          enabled: input.enabled ?? true,
          proxy: input.proxy_id ?? null,
        };
      },
      ctx.now(),
    );
    if (account === undefined) throw channelNotFound(req.params.id);
    await ctx.publish();
    ctx.logger.info({ accountId: account.id, channelId, proxyId: account.proxyId }, 'account created');
    res.status(201).json(await accountView(ctx, account));
  });

  router.get('/channels/:id/health', async (req, res) => {
    const id = parsePathId(req.params.id);
    const channel = id === undefined ? undefined : await ctx.channels.get(id);
    if (channel === undefined) throw channelNotFound(req.params.id);
    const health = await readAccountHealth(ctx.coordination, channel.accounts, ctx.now(), ctx.logger);
    res.json({
      channel_id: channel.id,
      accounts: channel.accounts.map((a, i) => ({ id: a.id, name: a.name, health: health[i] })),
    });
  });

  router.get('/accounts/:id', async (req, res) => {
    const id = parsePathId(req.params.id);
    const account = id === undefined ? undefined : await ctx.accounts.get(id);
    if (account === undefined) throw accountNotFound(req.params.id);
    res.json(await accountView(ctx, account));
  });

  router.patch('/accounts/:id', async (req, res) => {
    const id = parsePathId(req.params.id);
    if (id === undefined) throw accountNotFound(req.params.id);
    const input = parseInput(accountPatchInput, req.body, 'body');
    const apiKey = input.api_key;
    const account = await ctx.accounts.update(
      id,
      {
        name: input.name,
        proxy: input.proxy_id,
        credential:
          apiKey === undefined
            ? undefined
            : (current, channel) => {
                if (current.kind === 'oauth') {
                  throw new InvalidRequestError(
                    "'api_key': an OAuth account's credential comes from its authorization flow; authorize it again instead.",
                    { code: 'oauth_account', param: 'api_key' },
                  );
                }
                checkAccountCredential(channel.provider, apiKey, ctx.upstreamPolicy);
                return ctx.secretBox.encrypt(apiKey);
              },
      },
      ctx.now(),
    );
    if (account === undefined) throw accountNotFound(req.params.id);
    await ctx.publish();
    ctx.logger.info({ accountId: id, fields: Object.keys(input) }, 'account updated');
    res.json(await accountView(ctx, account));
  });

  router.delete('/accounts/:id', async (req, res) => {
    const id = parsePathId(req.params.id);
    if (id === undefined || !(await ctx.accounts.delete(id))) throw accountNotFound(req.params.id);
    await ctx.publish();
    ctx.logger.info({ accountId: id }, 'account deleted');
    res.status(204).end();
  });

  router.post('/accounts/:id/disable', async (req, res) => {
    const id = parsePathId(req.params.id);
    if (id === undefined) throw accountNotFound(req.params.id);
    // The body is optional: a bare POST disables with the default reason.
    const input = parseInput(accountDisableInput, req.body ?? {}, 'body');
    const account = await ctx.accounts.disableByAdmin(id, input.reason ?? ADMIN_DISABLED_REASON, ctx.now());
    if (account === undefined) throw accountNotFound(req.params.id);
    await ctx.publish();
    ctx.logger.info({ accountId: id, channelId: account.channelId }, 'account disabled by an admin');
    res.json(await accountView(ctx, account));
  });

  router.post('/accounts/:id/enable', async (req, res) => {
    const id = parsePathId(req.params.id);
    if (id === undefined) throw accountNotFound(req.params.id);
    const account = await ctx.accounts.enable(id, ctx.now());
    if (account === undefined) throw accountNotFound(req.params.id);
    await ctx.coordination?.clearCooldown(accountCoordinationKey(id));
    await ctx.publish();
    ctx.logger.info({ accountId: id, channelId: account.channelId }, 'account enabled by an admin');
    res.json(await accountView(ctx, account));
  });
}
