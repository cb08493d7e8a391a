import type { Router } from 'express';
import { DEFAULT_BREAKER, NotFoundError, type BreakerSettings } from '@switchyard/core';
import type { AdminContext } from './admin-context.js';
import { parseInput } from './admin-errors.js';
import type { ChannelPatch, NewAccount, StoredChannel } from './channel-repository.js';
import { channelCreateInput, channelPatchInput, type ChannelPatchInput } from './channel-input.js';
import { resolveChannelSettingsPatch, resolveNewChannelSettings } from './channel-settings.js';
import { toChannelView } from './channel-view.js';
import { parsePathId } from './path-id.js';

/** Encrypts each account's key; unnamed accounts are called `account-<n>` (1-based). */
function toNewAccounts(
  ctx: AdminContext,
  accounts: { name?: string | undefined; api_key: string }[],
): NewAccount[] {
  return accounts.map((a, i) => ({
    name: a.name ?? `account-${i + 1}`,
    credential: ctx.secretBox.encrypt(a.api_key),
  }));
}

/** The stored accounts' credentials, decrypted for re-checking; undefined where decryption fails. */
function storedCredentials(ctx: AdminContext, channel: StoredChannel) {
  return channel.accounts.map((a) => {
    let credential: string | undefined;
    try {
      credential = ctx.secretBox.decrypt(a.credential);
    } catch {
      credential = undefined;
    }
    return { name: a.name, credential };
  });
}

/** The admin API's snake_case breaker object as BreakerSettings overrides (also a declared channel's). */
export function breakerInput(b: ChannelPatchInput['breaker']): Partial<BreakerSettings> {
  if (b === undefined || b === null) return {};
  return {
    ...(b.error_threshold_percent !== undefined && { errorThresholdPercent: b.error_threshold_percent }),
    ...(b.volume_threshold !== undefined && { volumeThreshold: b.volume_threshold }),
    ...(b.reset_timeout_ms !== undefined && { resetTimeoutMs: b.reset_timeout_ms }),
    ...(b.window_ms !== undefined && { windowMs: b.window_ms }),
  };
}

function timeoutsPatched(input: ChannelPatchInput): boolean {
  return (
    input.connect_timeout_ms !== undefined ||
    input.first_byte_timeout_ms !== undefined ||
    input.idle_timeout_ms !== undefined
  );
}

function channelNotFound(raw: unknown): NotFoundError {
  return new NotFoundError(`Channel '${String(raw)}' does not exist.`, 'channel_not_found', 'id');
}

/** `/channels` CRUD. Every successful write republishes the config snapshot before answering. */
export function registerChannelRoutes(router: Router, ctx: AdminContext): void {
  router.get('/channels', async (_req, res) => {
    const channels = await ctx.channels.list();
    res.json({ data: channels.map(toChannelView) });
  });

  router.post('/channels', async (req, res) => {
    const input = parseInput(channelCreateInput, req.body, 'body');
    const settings = resolveNewChannelSettings(
      {
        provider: input.provider,
        base_url: input.base_url,
        options: input.options,
        models: input.models,
        credentials: (input.accounts ?? []).map((a) => a.api_key),
      },
      ctx.upstreamPolicy,
    );
    const channel = await ctx.channels.create(
      {
        name: input.name,
        ...settings,
        modelMapping: input.model_mapping ?? {},
        priority: input.priority ?? 0,
        weight: input.weight ?? 1,
        groups: input.groups ?? [input.group ?? 'default'],
        enabled: input.enabled ?? true,
        accountStrategy: input.account_strategy ?? 'round-robin',
        stickySessions: input.sticky_sessions ?? false,
        timeouts: {
          connectMs: input.connect_timeout_ms ?? null,
          firstByteMs: input.first_byte_timeout_ms ?? null,
          idleMs: input.idle_timeout_ms ?? null,
        },
        breaker: { ...DEFAULT_BREAKER, ...breakerInput(input.breaker) },
        accounts: toNewAccounts(ctx, input.accounts ?? []),
      },
      ctx.now(),
    );
    await ctx.publish();
    ctx.logger.info({ channelId: channel.id }, 'channel created');
    res.status(201).json(toChannelView(channel));
  });

  router.get('/channels/:id', async (req, res) => {
    const id = parsePathId(req.params.id);
    const channel = id === undefined ? undefined : await ctx.channels.get(id);
    if (channel === undefined) throw channelNotFound(req.params.id);
    res.json(toChannelView(channel));
  });

  router.patch('/channels/:id', async (req, res) => {
    const id = parsePathId(req.params.id);
    if (id === undefined) throw channelNotFound(req.params.id);
    const input = parseInput(channelPatchInput, req.body, 'body');
    const fields: ChannelPatch = {
      name: input.name,
      models: input.models,
      modelMapping: input.model_mapping,
      priority: input.priority,
      weight: input.weight,
      groups: input.groups ?? (input.group === undefined ? undefined : [input.group]),
      enabled: input.enabled,
      accountStrategy: input.account_strategy,
      stickySessions: input.sticky_sessions,
      accounts: input.accounts === undefined ? undefined : toNewAccounts(ctx, input.accounts),
    };
    const channel = await ctx.channels.update(
      id,
      (current) => ({
        ...fields,
        ...(timeoutsPatched(input) && {
          timeouts: {
            connectMs:
              input.connect_timeout_ms === undefined ? current.timeouts.connectMs : input.connect_timeout_ms,
            firstByteMs:
              input.first_byte_timeout_ms === undefined
                ? current.timeouts.firstByteMs
                : input.first_byte_timeout_ms,
            idleMs: input.idle_timeout_ms === undefined ? current.timeouts.idleMs : input.idle_timeout_ms,
          },
        }),
        ...(input.breaker !== undefined && {
          breaker:
            input.breaker === null
              ? { ...DEFAULT_BREAKER }
              : { ...current.breaker, ...breakerInput(input.breaker) },
        }),
        ...resolveChannelSettingsPatch(
          {
            provider: current.provider,
            baseUrl: current.baseUrl,
            options: current.options,
            storedCredentials: () => storedCredentials(ctx, current),
          },
          {
            provider: input.provider,
            base_url: input.base_url,
            options: input.options,
            credentials: input.accounts?.map((a) => a.api_key),
          },
          ctx.upstreamPolicy,
        ),
      }),
      ctx.now(),
    );
    if (channel === undefined) throw channelNotFound(req.params.id);
    await ctx.publish();
    ctx.logger.info({ channelId: id, fields: Object.keys(input) }, 'channel updated');
    res.json(toChannelView(channel));
  });

  router.delete('/channels/:id', async (req, res) => {
    const id = parsePathId(req.params.id);
    if (id === undefined || !(await ctx.channels.delete(id))) throw channelNotFound(req.params.id);
    await ctx.publish();
    ctx.logger.info({ channelId: id }, 'channel deleted');
    res.status(204).end();
  });
}
