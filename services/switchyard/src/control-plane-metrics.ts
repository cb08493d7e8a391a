import { performance } from 'node:perf_hooks';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AccountFailureOutcome, AccountStatusReporter, ConfigSource } from '@switchyard/core';

/** The route label of admin requests no route matched (refused before routing, unknown paths). */
const UNMATCHED_ROUTE = 'unmatched';

/** The control plane's metrics that the all-in-one and the control-plane role both export. */
export interface ControlPlaneMetrics {
  /**
   * Middleware for the admin mount: counts and times each request by method, route pattern and status.
   * The label is the express route pattern (`/admin/v1/accounts/:id`), never the path with its ids, so
   * the series stay bounded whatever callers send.
   */
  adminRequests: RequestHandler;
  /** `reporter`, counting each report by outcome and logging the ones it could not handle. */
  countReports(reporter: AccountStatusReporter): AccountStatusReporter;
  /** Stops listening to the config source. */
  close(): void;
}

export interface ControlPlaneMetricsOptions {
  /** The control plane's config source: every snapshot it publishes is counted. */
  source: ConfigSource;
  /** Where the admin router is mounted (`/admin/v1`): the prefix of the route label. */
  adminMount: string;
  logger: Logger;
}

export function registerControlPlaneMetrics(
  registry: Registry,
  opts: ControlPlaneMetricsOptions,
): ControlPlaneMetrics {
  const registers = [registry];
  const requests = new Counter({
    name: 'switchyard_admin_requests_total',
    help: 'Admin API requests by method, route pattern and HTTP status.',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const duration = new Histogram({
    name: 'switchyard_admin_request_duration_seconds',
    help: 'Time from an admin API request’s arrival to its last byte, by method and route pattern.',
    labelNames: ['method', 'route'],
    // Why these buckets: most admin calls are one database round trip; channel tests wait on an upstream.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const published = new Counter({
    name: 'switchyard_config_snapshots_published_total',
    help: 'Config snapshots the control plane published (one per admin change or automatic account change).',
    registers,
  });
  new Gauge({
    name: 'switchyard_config_published_version',
    help: 'Version of the newest config snapshot the control plane published.',
    registers,
    collect() {
      this.set(opts.source.current().version);
    },
  });
  const reports = new Counter({
    name: 'switchyard_account_failure_reports_total',
    help: 'Account failure reports from relays by outcome: disabled (the account was taken out), unchanged (unknown or already disabled), error (not handled; the relay reports again).',
    labelNames: ['outcome'],
    registers,
  });
  const unsubscribe = opts.source.subscribe(() => published.inc());

  const adminRequests: RequestHandler = (req, res, next) => {
    const t0 = performance.now();
    res.once('finish', () => {
      // Set by the router when a route matched; absent for refusals before routing and unknown paths.
      const pattern: unknown = (req as { route?: { path?: unknown } }).route?.path;
      const route = typeof pattern === 'string' ? `${opts.adminMount}${pattern}` : UNMATCHED_ROUTE;
      requests.inc({ method: req.method, route, status: String(res.statusCode) });
      duration.observe({ method: req.method, route }, (performance.now() - t0) / 1000);
    });
    next();
  };

  return {
    adminRequests,
    countReports: (reporter) => ({
      async reportAuthFailure(report): Promise<AccountFailureOutcome> {
        try {
          const outcome = await reporter.reportAuthFailure(report);
          reports.inc({ outcome });
          return outcome;
        } catch (err) {
          reports.inc({ outcome: 'error' });
          opts.logger.error(
            {
              err,
              accountId: report.accountId,
              channelId: report.channelId,
              request_id: report.requestId,
              client_request_id: report.clientRequestId,
            },
            'could not handle an account failure report; the relay will report again',
          );
          throw err;
        }
      },
    }),
    close: unsubscribe,
  };
}
