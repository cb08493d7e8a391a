import type { Router } from 'express';
import { NotFoundError, RATIO_ONE } from '@switchyard/core';
import type { AdminContext } from './admin-context.js';
import { parseInput } from './admin-errors.js';
import { groupCreateInput, groupPatchInput, groupPath } from './group-input.js';
import { DEFAULT_GROUP } from './group-repository.js';
import { toGroupView } from './group-view.js';
import { conflict } from './proxy-assignment.js';

function groupNotFound(name: string): NotFoundError {
  return new NotFoundError(`Group '${name}' does not exist.`, 'group_not_found', 'name');
}

/** The `{name}` of the path, or 404 when it cannot name a group. */
function pathName(raw: unknown): string {
  const parsed = groupPath.safeParse({ name: raw });
  if (!parsed.success) throw groupNotFound(String(raw));
  return parsed.data.name;
}

/**
 * `/groups` CRUD: the groups keys and users belong to, each with a price ratio the relays apply to
 * their requests' cost (the snapshot's `groups`). Every write republishes the snapshot before answering.
 */
export function registerGroupRoutes(router: Router, ctx: AdminContext): void {
  router.get('/groups', async (_req, res) => {
    const groups = await ctx.groups.list();
    res.json({ data: groups.map(toGroupView) });
  });

  router.post('/groups', async (req, res) => {
    const input = parseInput(groupCreateInput, req.body, 'body');
    const group = await ctx.groups.create(
      {
        name: input.name,
        description: input.description ?? null,
        ratioPpm: input.price_ratio ?? RATIO_ONE,
      },
      ctx.now(),
    );
    await ctx.publish();
    ctx.logger.info({ group: group.name, ratioPpm: group.ratioPpm }, 'group created');
    res.status(201).json(toGroupView(group));
  });

  router.get('/groups/:name', async (req, res) => {
    const name = pathName(req.params.name);
    const group = await ctx.groups.get(name);
    if (group === undefined) throw groupNotFound(name);
    res.json(toGroupView(group));
  });

  router.patch('/groups/:name', async (req, res) => {
    const name = pathName(req.params.name);
    const input = parseInput(groupPatchInput, req.body, 'body');
    const group = await ctx.groups.update(
      name,
      { description: input.description, ratioPpm: input.price_ratio },
      ctx.now(),
    );
    if (group === undefined) throw groupNotFound(name);
    await ctx.publish();
    ctx.logger.info({ group: name, fields: Object.keys(input) }, 'group updated');
    res.json(toGroupView(group));
  });

  router.delete('/groups/:name', async (req, res) => {
    const name = pathName(req.params.name);
    if (name === DEFAULT_GROUP) {
      throw conflict(
        `Group '${DEFAULT_GROUP}' is where keys and users without a group go; it cannot be deleted.`,
        'default_group',
        'name',
      );
    }
    const result = await ctx.groups.delete(name);
    if (result.outcome === 'not_found') throw groupNotFound(name);
    if (result.outcome === 'in_use') {
      const { keys, users, channels } = result.usage;
      throw conflict(
        `Group '${name}' is still used by ${keys} key(s), ${users} user(s) and ${channels} channel(s); move them to another group first.`,
        'group_in_use',
        'name',
      );
    }
    await ctx.publish();
    ctx.logger.info({ group: name }, 'group deleted');
    res.status(204).end();
  });
}
