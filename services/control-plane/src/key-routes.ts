import type { Router } from 'express';
import { generateClientKey, hashKey, NotFoundError } from '@switchyard/core';
import type { AdminContext } from './admin-context.js';
import { parseInput } from './admin-errors.js';
import { keyCreateInput, keyPatchInput, keyQueryInput, type UserKeyQueryInput } from './key-input.js';
import { toKeyView, type CreatedKeyView, type KeyPageView } from './key-view.js';
import { pageWindow, toPageView } from './page-query.js';
import { requirePathId } from './path-id.js';
import { limitSettings } from './tenancy-fields.js';

/** Why 12: `sk-sy-` plus 6 random characters, enough to tell keys apart in a list, far too few to guess. */
const KEY_PREFIX_LENGTH = 12;

function keyNotFound(raw: unknown): NotFoundError {
  return new NotFoundError(`Key '${String(raw)}' does not exist.`, 'key_not_found', 'id');
}

/** One page of keys as GET /keys and GET /users/:id/keys answer it: `query`'s, of `userId` when given. */
export async function keyPage(
  ctx: AdminContext,
  query: UserKeyQueryInput,
  userId: number | undefined,
): Promise<KeyPageView> {
  const page = await ctx.keys.page({
    userId,
    group: query.group,
    enabled: query.enabled,
    q: query.q,
    ...pageWindow(query),
  });
  return toPageView('keys', page, toKeyView);
}

/** `/keys` CRUD. The plaintext key exists only in the POST response; the database keeps its hash. */
export function registerKeyRoutes(router: Router, ctx: AdminContext): void {
  router.get('/keys', async (req, res) => {
    const query = parseInput(keyQueryInput, req.query, 'query');
    res.json(await keyPage(ctx, query, query.user_id));
  });

  router.post('/keys', async (req, res) => {
    const input = parseInput(keyCreateInput, req.body, 'body');
    const plaintext = generateClientKey();
    const key = await ctx.keys.create(
      {
        name: input.name,
        keyHash: hashKey(plaintext),
        keyPrefix: plaintext.slice(0, KEY_PREFIX_LENGTH),
        models: input.models ?? null,
        expiresAt: input.expires_at ?? null,
        group: input.group,
        enabled: input.enabled ?? true,
        pinnedChannelId: input.pinned_channel_id ?? null,
        excludedChannelIds: input.excluded_channel_ids ?? [],
        userId: input.user_id ?? null,
        ipAllowlist: input.ip_allowlist ?? null,
        ...limitSettings(input),
      },
      ctx.now(),
    );
    await ctx.publish();
    ctx.logger.info({ keyId: key.id, userId: key.userId }, 'client key created');
    const view: CreatedKeyView = { ...toKeyView(key), key: plaintext };
    res.status(201).json(view);
  });

  router.get('/keys/:id', async (req, res) => {
    const key = await ctx.keys.get(requirePathId(req.params.id, keyNotFound));
    if (key === undefined) throw keyNotFound(req.params.id);
    res.json(toKeyView(key));
  });

  router.patch('/keys/:id', async (req, res) => {
    const id = requirePathId(req.params.id, keyNotFound);
    const input = parseInput(keyPatchInput, req.body, 'body');
    const key = await ctx.keys.update(
      id,
      {
        name: input.name,
        models: input.models,
        expiresAt: input.expires_at,
        group: input.group,
        enabled: input.enabled,
        pinnedChannelId: input.pinned_channel_id,
        excludedChannelIds: input.excluded_channel_ids,
        userId: input.user_id,
        ipAllowlist: input.ip_allowlist,
        ...limitSettings(input),
      },
      ctx.now(),
    );
    if (key === undefined) throw keyNotFound(req.params.id);
    await ctx.publish();
    ctx.logger.info({ keyId: id, fields: Object.keys(input) }, 'client key updated');
    res.json(toKeyView(key));
  });

  router.delete('/keys/:id', async (req, res) => {
    const id = requirePathId(req.params.id, keyNotFound);
    if (!(await ctx.keys.delete(id))) throw keyNotFound(req.params.id);
    await ctx.publish();
    ctx.logger.info({ keyId: id }, 'client key deleted');
    res.status(204).end();
  });
}
