import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type {
  AccountFailureOutcome,
  AccountFailureReport,
  AccountStatusReporter,
  DB,
} from '@switchyard/core';
import { disableAccountAutomatically } from './account-repository.js';

/** Why 500: a reason is one sentence for an admin; the cap bounds what a relay can write into a row. */
const MAX_REASON_CHARS = 500;

export interface AccountStatusServiceOptions {
  db: Kysely<DB>;
  logger: Logger;
  /** Clock in epoch milliseconds. */
  now: () => number;
  /** Rebuilds and publishes the config snapshot (the control plane's serialised rebuild). */
  publish: () => Promise<void>;
}

/**
 * Automatic account state: disables accounts whose credential an upstream rejected (reported by the
 * relays) and re-enables them when the recovery probe finds them working again. Each change is one
 * conditional UPDATE, so concurrent reports for one account make one change and one publish; a report
 * for an account that is already disabled (by an admin or automatically) changes nothing. An admin's
 * decision always wins: re-enabling touches only accounts still disabled by 'auto'.
 */
export class AccountStatusService implements AccountStatusReporter {
  readonly #opts: AccountStatusServiceOptions;

  constructor(opts: AccountStatusServiceOptions) {
    this.#opts = opts;
  }

  /**
   * Disables the account (enabled 0, disabled_by 'auto', the report's reason, disabled_at) unless it is
   * already disabled (by anyone), then publishes. The relay's reason is stored as given (it is
   * secret-free by contract), or a reason naming the status when it gave none. Both outcomes are logged
   * with the reporting request's ids, so the line is found from the relay's.
   */
  async reportAuthFailure(report: AccountFailureReport): Promise<AccountFailureOutcome> {
    const reason = disabledReason(report);
    const changed = await disableAccountAutomatically(
      this.#opts.db,
      report.accountId,
      reason,
      this.#opts.now(),
    );
    const log = {
      accountId: report.accountId,
      channelId: report.channelId,
      upstreamStatus: report.upstreamStatus,
      request_id: report.requestId,
      client_request_id: report.clientRequestId,
    };
    if (!changed) {
      this.#opts.logger.info(
        log,
        'auth failure reported for an account that is not enabled; nothing to change',
      );
      return 'unchanged';
    }
    this.#opts.logger.warn(
      { ...log, reason },
      'account disabled automatically: the upstream rejected its credential',
    );
    await this.#opts.publish();
    return 'disabled';
  }

  /**
   * Re-enables an account the probe found working (enabled 1, disabled_* cleared) when it is still
   * disabled by 'auto'; resolves whether it changed. Not account-repository's enableAccount: an admin
   * who disables the account while the probe's request is in flight must win. Does not publish: the
   * probe publishes once per round.
   */
  async enableRecovered(accountId: number): Promise<boolean> {
    const result = await this.#opts.db
      .updateTable('accounts')
      .set({
        enabled: 1,
        disabled_by: null,
        disabled_reason: null,
        disabled_at: null,
        updated_at: this.#opts.now(),
      })
      .where('id', '=', accountId)
      .where('enabled', '=', 0)
      .where('disabled_by', '=', 'auto')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}

function disabledReason(report: AccountFailureReport): string {
  const given = report.reason.trim();
  const reason =
    given !== ''
      ? given
      : report.upstreamStatus > 0
        ? `upstream answered HTTP ${report.upstreamStatus} (authentication failed)`
        : 'upstream authentication failed';
  return reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS - 1)}…` : reason;
}
