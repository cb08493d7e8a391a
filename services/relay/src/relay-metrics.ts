import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The relay's Prometheus metrics. Label values are bounded: `model` is a model some channel serves
 * (or "unknown"), `channel` a configured channel id (or "none"), `status` an HTTP status code.
 */
export class RelayMetrics {
  readonly requests: Counter<'route' | 'model' | 'channel' | 'status'>;
  readonly requestDuration: Histogram<'route' | 'model' | 'channel' | 'status'>;
  readonly upstreamDuration: Histogram<'channel' | 'outcome'>;
  readonly upstreamAttempts: Counter<'channel' | 'outcome'>;
  readonly timeToFirstToken: Histogram<'model' | 'channel'>;
  readonly formatAttempts: Counter<'client_format' | 'upstream_format' | 'mode'>;
  readonly breakerState: Gauge<'channel' | 'account'>;
  readonly cooldowns: Counter<'channel' | 'account' | 'reason'>;
  readonly failovers: Counter<'channel' | 'reason'>;
  readonly accountsDisabled: Counter<'channel' | 'account'>;
  readonly candidatesSkipped: Counter<'reason'>;
  readonly admissionRefusals: Counter<'scope' | 'reason'>;
  readonly costNano: Counter<'model'>;
  readonly tokens: Counter<'model' | 'kind'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'switchyard_http_requests_total',
      help: 'Client requests handled by the relay, by route, model, channel and HTTP status.',
      labelNames: ['route', 'model', 'channel', 'status'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'switchyard_http_request_duration_seconds',
      help: 'Time from request arrival to the last byte sent to the client.',
      labelNames: ['route', 'model', 'channel', 'status'],
      // Why these buckets: gateway overhead is sub-millisecond, LLM answers take seconds to minutes.
      buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: 'switchyard_upstream_duration_seconds',
      help: 'Time from sending an upstream request to its response headers, by channel and outcome.',
      labelNames: ['channel', 'outcome'],
      buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.upstreamAttempts = new Counter({
      name: 'switchyard_upstream_attempts_total',
      help: 'Upstream attempts by channel and outcome (ok, http_4xx, http_429, http_5xx, timeout, error).',
      labelNames: ['channel', 'outcome'],
      registers,
    });
    this.timeToFirstToken = new Histogram({
      name: 'switchyard_stream_time_to_first_token_seconds',
      help: 'For streams: time from request arrival to the first chunk sent to the client.',
      labelNames: ['model', 'channel'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32],
      registers,
    });
    this.formatAttempts = new Counter({
      name: 'switchyard_format_attempts_total',
      help: 'Upstream attempts of the client API routes by client wire format, upstream wire format and mode (passthrough or converted).',
      labelNames: ['client_format', 'upstream_format', 'mode'],
      registers,
    });
    // Channel and account ids are configured entities: bounded by the admin's configuration.
    this.breakerState = new Gauge({
      name: 'switchyard_breaker_state',
      help: 'Circuit-breaker state of each channel-account on this relay: 0 closed, 1 half-open, 2 open.',
      labelNames: ['channel', 'account'],
      registers,
    });
    this.cooldowns = new Counter({
      name: 'switchyard_account_cooldowns_total',
      help: 'Cooldowns this relay set on channel-accounts, by reason (rate_limited, overloaded, server_error, timeout, unreachable, auth).',
      labelNames: ['channel', 'account', 'reason'],
      registers,
    });
    this.failovers = new Counter({
      name: 'switchyard_failovers_total',
      help: 'Requests moved to another candidate after a failed attempt, by the failed channel and reason.',
      labelNames: ['channel', 'reason'],
      registers,
    });
    this.accountsDisabled = new Counter({
      name: 'switchyard_account_auth_failures_total',
      help: 'Upstream authentication failures (401/403) that this relay reported to the control plane.',
      labelNames: ['channel', 'account'],
      registers,
    });
    this.candidatesSkipped = new Counter({
      name: 'switchyard_candidates_skipped_total',
      help: 'Candidates left out of a request because they were cooling down, their breaker was open or they were locally disabled.',
      labelNames: ['reason'],
      registers,
    });
    this.admissionRefusals = new Counter({
      name: 'switchyard_admission_refusals_total',
      help: 'Requests refused before routing by a key or user limit: scope key|user, reason quota|rpm|tpm|concurrency.',
      labelNames: ['scope', 'reason'],
      registers,
    });
    this.costNano = new Counter({
      name: 'switchyard_cost_nano_usd_total',
      help: 'What billed requests cost (tokens x price x group ratio), in nano-USD, by served model.',
      labelNames: ['model'],
      registers,
    });
    this.tokens = new Counter({
      name: 'switchyard_tokens_total',
      help: 'Tokens of billed requests as their usage rows record them, by served model and kind (prompt, completion, cached, reasoning; cached is part of prompt, reasoning of completion).',
      labelNames: ['model', 'kind'],
      registers,
    });
  }
}
