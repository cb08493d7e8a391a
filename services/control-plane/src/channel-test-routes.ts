import type { Router } from 'express';
import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '@switchyard/core';
import type { AdminContext } from './admin-context.js';
import { parseInput } from './admin-errors.js';
import { modelPatternField } from './admin-fields.js';
import type { StoredAccount, StoredChannel } from './channel-repository.js';
import { testModelFor, type AccountTestResult } from './channel-tester.js';
import { parsePathId } from './path-id.js';

/** Why 10: every test is a real upstream request, sent at once; ten bounds both the burst and the wait. */
export const MAX_TESTED_ACCOUNTS = 10;

const accountTestInput = z.strictObject({
  /** A client model name (mapped through model_mapping) or upstream model; default: testModelFor. */
  model: modelPatternField.optional(),
});

const channelTestInput = z.strictObject({
  ...accountTestInput.shape,
  /** Test only this account of the channel (enabled or not); default: every enabled one, at most 10. */
  account_id: z.int().min(1).optional(),
});

/** One account's outcome as the admin API shows it; never a credential. */
export interface AccountTestView {
  account_id: number;
  account_name: string;
  ok: boolean;
  status: number | null;
  latency_ms: number;
  model: string;
  error: { code: string; message: string } | null;
}

/** The answer of both test endpoints: HTTP 200 whatever the upstreams answered. */
export interface ChannelTestView {
  channel_id: number;
  results: AccountTestView[];
}

function toView(channelId: number, results: AccountTestResult[]): ChannelTestView {
  return {
    channel_id: channelId,
    results: results.map((r) => ({
      account_id: r.accountId,
      account_name: r.accountName,
      ok: r.ok,
      status: r.status,
      latency_ms: r.latencyMs,
      model: r.model,
      error: r.error,
    })),
  };
}

function testModel(channel: StoredChannel, requested: string | undefined): string {
  const model = testModelFor(channel, requested);
  if (model === null) {
    throw new InvalidRequestError(
      `Channel '${channel.name}' lists only model globs and no model_mapping target; give 'model' to test with.`,
      { code: 'no_test_model', param: 'model' },
    );
  }
  return model;
}

function accountsToTest(channel: StoredChannel, accountId: number | undefined): StoredAccount[] {
  if (accountId !== undefined) {
    const account = channel.accounts.find((a) => a.id === accountId);
    if (account === undefined) {
      throw new NotFoundError(
        `Channel ${channel.id} has no account ${accountId}.`,
        'account_not_found',
        'account_id',
      );
    }
    return [account];
  }
  const enabled = channel.accounts.filter((a) => a.enabled).slice(0, MAX_TESTED_ACCOUNTS);
  if (enabled.length === 0) {
    throw new InvalidRequestError(
      `Channel ${channel.id} has no enabled account; give 'account_id' to test a disabled one.`,
      { code: 'no_enabled_accounts', param: 'account_id' },
    );
  }
  return enabled;
}

/**
 * `POST /channels/:id/test` and `POST /accounts/:id/test`: a one-token generation request per account
 * through the channel's provider (channel-tester.ts). Tests change no state: an account the upstream
 * rejects is only reported here (the relays disable accounts on real traffic).
 */
export function registerChannelTestRoutes(router: Router, ctx: AdminContext): void {
  router.post('/channels/:id/test', async (req, res) => {
    const id = parsePathId(req.params.id);
    const channel = id === undefined ? undefined : await ctx.channels.get(id);
    if (channel === undefined) {
      throw new NotFoundError(
        `Channel '${String(req.params.id)}' does not exist.`,
        'channel_not_found',
        'id',
      );
    }
    const input = parseInput(channelTestInput, req.body ?? {}, 'body');
    const model = testModel(channel, input.model);
    const accounts = accountsToTest(channel, input.account_id);
    const results = await Promise.all(
      accounts.map((account) => ctx.channelTester.testAccount(channel, account, model)),
    );
    res.json(toView(channel.id, results));
  });

  router.post('/accounts/:id/test', async (req, res) => {
    const id = parsePathId(req.params.id);
    const found = id === undefined ? undefined : await ctx.channelTester.locateAccount(id, ctx.channels);
    if (found === undefined) {
      throw new NotFoundError(
        `Account '${String(req.params.id)}' does not exist.`,
        'account_not_found',
        'id',
      );
    }
    const input = parseInput(accountTestInput, req.body ?? {}, 'body');
    const model = testModel(found.channel, input.model);
    const result = await ctx.channelTester.testAccount(found.channel, found.account, model);
    res.json(toView(found.channel.id, [result]));
  });
}
