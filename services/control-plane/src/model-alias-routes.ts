import type { Router } from 'express';
import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '@switchyard/core';
import type { AdminContext } from './admin-context.js';
import { parseInput } from './admin-errors.js';
import { toIso } from './iso-time.js';
import type { StoredModelAlias } from './model-alias-repository.js';

/**
 * An exact model name as clients send it: the length of modelPatternField (the varchar(191) column),
 * but no `*` (an alias is never a glob) and no whitespace or control characters, which no model name
 * has and which would only make an alias no request can match.
 */
const modelNameField = z
  .string()
  .min(1, 'must not be empty')
  .max(191)
  .regex(/^[^\s*\p{Cc}]+$/u, 'must be an exact model name: no `*`, spaces or control characters');

const aliasPath = z.strictObject({ alias: modelNameField });
const aliasBody = z.strictObject({ model: modelNameField });

/** A model alias as the admin API shows it. */
export interface ModelAliasView {
  alias: string;
  model: string;
  created_at: string;
  updated_at: string;
}

function toModelAliasView(a: StoredModelAlias): ModelAliasView {
  return { alias: a.alias, model: a.model, created_at: toIso(a.createdAt), updated_at: toIso(a.updatedAt) };
}

function aliasNotFound(alias: string): NotFoundError {
  return new NotFoundError(`Model alias '${alias}' does not exist.`, 'model_alias_not_found', 'alias');
}

/**
 * `/model-aliases`: global client model name → model, applied by the relays before routing (the
 * snapshot's `modelAliases`). Every write republishes the snapshot before answering.
 */
export function registerModelAliasRoutes(router: Router, ctx: AdminContext): void {
  router.get('/model-aliases', async (_req, res) => {
    const aliases = await ctx.modelAliases.list();
    res.json({ data: aliases.map(toModelAliasView) });
  });

  router.put('/model-aliases/:alias', async (req, res) => {
    const { alias } = parseInput(aliasPath, { alias: req.params.alias }, 'query');
    const { model } = parseInput(aliasBody, req.body, 'body');
    if (model === alias) {
      throw new InvalidRequestError(`'model': an alias may not point to itself.`, { param: 'model' });
    }
    const result = await ctx.modelAliases.put(alias, model, ctx.now());
    await ctx.publish();
    ctx.logger.info({ alias, model, created: result.created }, 'model alias saved');
    res.status(result.created ? 201 : 200).json(toModelAliasView(result.alias));
  });

  router.delete('/model-aliases/:alias', async (req, res) => {
    const alias = req.params.alias;
    if (!(await ctx.modelAliases.delete(alias))) throw aliasNotFound(alias);
    await ctx.publish();
    ctx.logger.info({ alias }, 'model alias deleted');
    res.status(204).end();
  });
}
