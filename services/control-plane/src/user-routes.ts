import type { Router } from 'express';
import { InvalidRequestError, MAX_NANOS, NotFoundError, formatUsd } from '@switchyard/core';
import type { AdminContext } from './admin-context.js';
import { parseInput } from './admin-errors.js';
import { DEFAULT_GROUP } from './group-repository.js';
import { userKeyQueryInput } from './key-input.js';
import { keyPage } from './key-routes.js';
import { pageWindow, toPageView } from './page-query.js';
import { requirePathId } from './path-id.js';
import { conflict } from './proxy-assignment.js';
import { limitSettings } from './tenancy-fields.js';
import {
  topUpInput,
  userCreateInput,
  userDeleteQuery,
  userPatchInput,
  userQueryInput,
} from './user-input.js';
import { toUserView, type UserPageView } from './user-view.js';

function userNotFound(raw: unknown): NotFoundError {
  return new NotFoundError(`User '${String(raw)}' does not exist.`, 'user_not_found', 'id');
}

/**
 * `/users` CRUD, the user's keys and quota top-ups. A user owns keys and a balance and limits its keys
 * share (the snapshot's `users`); every write republishes the snapshot before answering.
 */
export function registerUserRoutes(router: Router, ctx: AdminContext): void {
  router.get('/users', async (req, res) => {
    const query = parseInput(userQueryInput, req.query, 'query');
    const page = await ctx.users.page({
      group: query.group,
      enabled: query.enabled,
      q: query.q,
      ...pageWindow(query),
    });
    const body: UserPageView = toPageView('users', page, toUserView);
    res.json(body);
  });

  router.post('/users', async (req, res) => {
    const input = parseInput(userCreateInput, req.body, 'body');
    const user = await ctx.users.create(
      {
        name: input.name,
        email: input.email ?? null,
        group: input.group ?? DEFAULT_GROUP,
        enabled: input.enabled ?? true,
        ...limitSettings(input),
      },
      ctx.now(),
    );
    await ctx.publish();
    ctx.logger.info({ userId: user.id }, 'user created');
    res.status(201).json(toUserView(user));
  });

  router.get('/users/:id', async (req, res) => {
    const user = await ctx.users.get(requirePathId(req.params.id, userNotFound));
    if (user === undefined) throw userNotFound(req.params.id);
    res.json(toUserView(user));
  });

  router.patch('/users/:id', async (req, res) => {
    const id = requirePathId(req.params.id, userNotFound);
    const input = parseInput(userPatchInput, req.body, 'body');
    const user = await ctx.users.update(
      id,
      {
        name: input.name,
        email: input.email,
        group: input.group,
        enabled: input.enabled,
        ...limitSettings(input),
      },
      ctx.now(),
    );
    if (user === undefined) throw userNotFound(req.params.id);
    await ctx.publish();
    ctx.logger.info({ userId: id, fields: Object.keys(input) }, 'user updated');
    res.json(toUserView(user));
  });

  router.delete('/users/:id', async (req, res) => {
    const id = requirePathId(req.params.id, userNotFound);
    const { cascade } = parseInput(userDeleteQuery, req.query, 'query');
    const result = await ctx.users.delete(id, cascade ?? false);
    if (result.outcome === 'not_found') throw userNotFound(req.params.id);
    if (result.outcome === 'has_keys') {
      throw conflict(
        `User ${id} still owns ${result.keys} key(s); delete them first, or pass ?cascade=true to delete them with the user.`,
        'user_has_keys',
        'id',
      );
    }
    await ctx.publish();
    ctx.logger.info({ userId: id, keysDeleted: result.keysDeleted }, 'user deleted');
    res.status(204).end();
  });

  router.get('/users/:id/keys', async (req, res) => {
    const id = requirePathId(req.params.id, userNotFound);
    const query = parseInput(userKeyQueryInput, req.query, 'query');
    if ((await ctx.users.get(id)) === undefined) throw userNotFound(req.params.id);
    res.json(await keyPage(ctx, query, id));
  });

  router.post('/users/:id/topup', async (req, res) => {
    const id = requirePathId(req.params.id, userNotFound);
    const { amount } = parseInput(topUpInput, req.body, 'body');
    const result = await ctx.users.topUp(id, amount, ctx.now());
    if (result.outcome === 'not_found') throw userNotFound(req.params.id);
    if (result.outcome === 'unlimited') {
      throw conflict(
        `User ${id} has an unlimited quota; set one with PATCH /users/${id} {"quota": ...} before topping it up.`,
        'quota_unlimited',
        'id',
      );
    }
    if (result.outcome === 'overflow') {
      throw new InvalidRequestError(
        `'amount': the quota would exceed the largest one allowed (${formatUsd(MAX_NANOS)} USD).`,
        { code: 'quota_too_large', param: 'amount' },
      );
    }
    await ctx.publish();
    ctx.logger.info(
      { userId: id, amountNano: amount, quotaNano: result.user.quotaNano },
      'user quota topped up',
    );
    res.json(toUserView(result.user));
  });
}
