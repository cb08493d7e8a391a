import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { CoordinationStore, DB } from '@switchyard/core';
import type { AccountStatusService } from './account-status.js';
import type { ChannelRepository } from './channel-repository.js';
import { accountCoordinationKey } from './health-view.js';
import { testModelFor, type ChannelTester } from './channel-tester.js';

/**
 * Why 5 min: an upstream that rejected a key usually stays that way until someone acts (a key rotated,
 * a bill paid), so probing more often only adds requests; 5 min brings an account back soon after the
 * fix without an admin having to re-enable it.
 */
export const DEFAULT_ACCOUNT_PROBE_INTERVAL_MS = 5 * 60_000;

export interface AccountProbeOptions {
  db: Kysely<DB>;
  channels: ChannelRepository;
  tester: ChannelTester;
  status: AccountStatusService;
  logger: Logger;
  /** Rebuilds and publishes the config snapshot; called once per round that re-enabled an account. */
  publish: () => Promise<void>;
  /** Between two rounds; 0 turns the timer off (probeNow() still works). */
  intervalMs: number;
  /** Where the relays keep account cooldowns; a re-enabled account's is cleared. Absent: nothing to clear. */
  coordination?: Pick<CoordinationStore, 'clearCooldown'> | undefined;
}

/** What one probe round did, for tests and logs. */
export interface ProbeRound {
  probed: number;
  reenabled: number[];
}

/**
 * The recovery probe: every `intervalMs` it tests each API-key account disabled by 'auto' with the
 * channel tester, one at a time (a round is background work; it must not burst an upstream). An
 * account that answers is re-enabled, its cooldown cleared, and the snapshot published; one that does
 * not stays disabled with its reason. Admin-disabled accounts are never probed, nor OAuth accounts
 * (a failed refresh needs a new authorization, which a probe cannot give).
 */
export class AccountProbe {
  readonly #opts: AccountProbeOptions;
  readonly #stopping = new AbortController();
  #timer: NodeJS.Timeout | null = null;
  #round: Promise<ProbeRound> | null = null;

  constructor(opts: AccountProbeOptions) {
    this.#opts = opts;
  }

  /** Starts the timer (unless intervalMs is 0). */
  start(): void {
    if (this.#opts.intervalMs <= 0 || this.#timer !== null || this.#stopping.signal.aborted) return;
    this.#timer = setInterval(() => {
      void this.probeNow().catch((err: unknown) => {
        this.#opts.logger.error({ err }, 'account probe round failed');
      });
    }, this.#opts.intervalMs);
    // The probe is background work: it never keeps the process alive on its own.
    this.#timer.unref();
  }

  /** Runs a round now, or joins the one in progress. */
  probeNow(): Promise<ProbeRound> {
    this.#round ??= this.#probe().finally(() => {
      this.#round = null;
    });
    return this.#round;
  }

  /** Stops the timer and cuts a round in progress short; resolves when it has ended. */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#stopping.abort();
    await this.#round?.catch(() => undefined);
  }

  async #probe(): Promise<ProbeRound> {
    const { db, channels, tester, status, logger } = this.#opts;
    const rows = await db
      .selectFrom('accounts')
      .select(['id', 'channel_id'])
      .where('enabled', '=', 0)
      .where('disabled_by', '=', 'auto')
      .where('kind', '=', 'api_key')
      .orderBy('id')
      .execute();
    const round: ProbeRound = { probed: 0, reenabled: [] };
    for (const row of rows) {
      if (this.#stopping.signal.aborted) break;
      const accountId = Number(row.id);
      const channel = await channels.get(Number(row.channel_id));
      const account = channel?.accounts.find((a) => a.id === accountId);
      if (channel === undefined || account === undefined) continue;
      const model = testModelFor(channel);
      if (model === null) {
        logger.warn(
          { accountId, channelId: channel.id },
          'account probe skipped: the channel names no model to test with',
        );
        continue;
      }
      round.probed++;
      const result = await tester.testAccount(channel, account, model, this.#stopping.signal);
      if (!result.ok) {
        logger.info(
          { accountId, channelId: channel.id, status: result.status, code: result.error?.code ?? null },
          'account probe failed; the account stays disabled',
        );
        continue;
      }
      if (!(await status.enableRecovered(accountId))) continue;
      // A cooldown left over from the failures would keep the relays off the account for a while longer.
      await this.#opts.coordination
        ?.clearCooldown(accountCoordinationKey(accountId))
        .catch((err: unknown) => {
          logger.warn({ accountId, err }, 'could not clear the re-enabled account cooldown');
        });
      round.reenabled.push(accountId);
      logger.info({ accountId, channelId: channel.id }, 'account probe succeeded; account re-enabled');
    }
    if (round.reenabled.length > 0) await this.#opts.publish();
    return round;
  }
}
