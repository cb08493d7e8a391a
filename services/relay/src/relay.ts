import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import {
  NotFoundError,
  matchesAnyModel,
  type ConfigSource,
  type CoordinationStore,
  type UsageBus,
} from '@switchyard/core';
import { renderOpenAIError } from '@switchyard/providers';
import { handleChatCompletions } from './chat-completions.js';
import { KeyAuthenticator } from './key-authenticator.js';
import { RelayMetrics } from './relay-metrics.js';
import type { RelayContext, RelaySettings } from './relay-context.js';
import type { RequestState } from './request-state.js';
import { sendJson } from './response-writer.js';
import { RoutingTable } from './routing-table.js';
import { UpstreamClient } from './upstream-client.js';

export interface RelayOptions {
  configSource: ConfigSource;
  coordination: CoordinationStore;
  usageBus: UsageBus;
  logger: Logger;
  registry: Registry;
  settings: RelaySettings;
}

type Handler = (
  ctx: RelayContext,
  req: IncomingMessage,
  res: ServerResponse,
  state: RequestState,
) => Promise<void>;

/** A caller-supplied request id is echoed only if it is short and plain (it lands in logs and headers). */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * The relay role: the OpenAI-compatible client API under `/v1`. Keeps its routing tables in memory,
 * rebuilt from each config snapshot; publishes one usage event per authenticated request.
 */
export class Relay {
  readonly #ctx: RelayContext;
  readonly #bus: UsageBus;
  readonly #unsubscribe: () => void;
  #inflight = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(opts: RelayOptions) {
    const auth = new KeyAuthenticator();
    const routing = new RoutingTable();
    const apply = (s: ReturnType<ConfigSource['current']>): void => {
      auth.update(s);
      routing.update(s);
    };
    apply(opts.configSource.current());
    this.#unsubscribe = opts.configSource.subscribe(apply);
    this.#bus = opts.usageBus;
    this.#ctx = {
      options: opts.settings,
      auth,
      routing,
      coordination: opts.coordination,
      upstream: new UpstreamClient(opts.settings.timeouts),
      metrics: new RelayMetrics(opts.registry),
      logger: opts.logger,
    };
  }

  /**
   * Serves the request if it is a relay route (`/v1/...`) and returns true; returns false for
   * anything else so the composition root can hand it on. The relay routes are few and fixed, so
   * they are dispatched directly rather than through a router: this is the hot path.
   */
  dispatch(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '';
    if (!url.startsWith('/v1/')) return false;
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === '/v1/chat/completions' && req.method === 'POST') {
      void this.#handle('/v1/chat/completions', handleChatCompletions, req, res);
    } else if (path === '/v1/models' && (req.method === 'GET' || req.method === 'HEAD')) {
      void this.#handle('/v1/models', handleModels, req, res);
    } else {
      void this.#handle('unknown', unknownRoute, req, res);
    }
    return true;
  }

  /** Requests currently being handled. */
  get inflight(): number {
    return this.#inflight;
  }

  /** Resolves once no request is in flight and every usage event so far has been handled. */
  async idle(): Promise<void> {
    if (this.#inflight > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    await this.#bus.drained();
  }

  async close(): Promise<void> {
    this.#unsubscribe();
    await this.#ctx.upstream.close();
  }

  async #handle(route: string, handler: Handler, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const clientId = req.headers['x-request-id'];
    const clientRequestId =
      typeof clientId === 'string' && CLIENT_REQUEST_ID.test(clientId) ? clientId : null;
    const requestId = randomUUID();
    const state: RequestState = {
      requestId,
      clientRequestId,
      echoRequestId: clientRequestId ?? requestId,
      route,
      createdAt: Date.now(),
      started: performance.now(),
      clientGone: new AbortController(),
      key: null,
      model: null,
      modelLabel: 'unknown',
      upstreamModel: null,
      channelId: null,
      accountId: null,
      attempts: 1,
      stream: false,
      usage: null,
      status: 'ok',
      httpStatus: 200,
      error: null,
    };
    this.#inflight++;
    res.setHeader('x-request-id', state.echoRequestId);
    res.once('close', () => {
      if (!res.writableFinished) state.clientGone.abort();
    });
    try {
      await handler(this.#ctx, req, res, state);
    } catch (err) {
      this.#fail(state, res, err);
    } finally {
      this.#finish(state);
    }
  }

  #fail(state: RequestState, res: ServerResponse, err: unknown): void {
    const { status, body } = renderOpenAIError(err);
    state.status = state.clientGone.signal.aborted ? 'aborted' : 'error';
    state.error = state.clientGone.signal.aborted ? 'client_closed' : body.error.code;
    state.httpStatus = status;
    if (status >= 500) {
      this.#ctx.logger.error({ request_id: state.requestId, err }, 'request failed');
    }
    if (res.headersSent) {
      if (!res.writableEnded) res.end();
      return;
    }
    const headers: Record<string, string> = {};
    const retryAfter = (err as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof retryAfter === 'number')
      headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfter / 1000)));
    sendJson(res, status, body, headers);
  }

  #finish(state: RequestState): void {
    const ms = performance.now() - state.started;
    const labels = {
      route: state.route,
      model: state.modelLabel,
      channel: state.channelId === null ? 'none' : String(state.channelId),
      status: String(state.status === 'aborted' ? 499 : state.httpStatus),
    };
    this.#ctx.metrics.requests.inc(labels);
    this.#ctx.metrics.requestDuration.observe(labels, ms / 1000);
    this.#ctx.logger.info(
      {
        request_id: state.requestId,
        client_request_id: state.clientRequestId ?? undefined,
        route: state.route,
        key_id: state.key?.id,
        model: state.model ?? undefined,
        channel_id: state.channelId ?? undefined,
        account_id: state.accountId ?? undefined,
        attempts: state.attempts,
        stream: state.stream,
        status: labels.status,
        outcome: state.status,
        error: state.error ?? undefined,
        latency_ms: Math.round(ms * 100) / 100,
      },
      'request',
    );
    if (state.key !== null && state.model !== null && state.route === '/v1/chat/completions') {
      const u = state.usage;
      this.#bus.publish({
        requestId: state.requestId,
        clientRequestId: state.clientRequestId,
        keyId: state.key.id,
        channelId: state.channelId,
        accountId: state.accountId,
        model: state.model,
        upstreamModel: state.upstreamModel,
        promptTokens: u?.promptTokens ?? 0,
        completionTokens: u?.completionTokens ?? 0,
        totalTokens: u?.totalTokens ?? 0,
        status: state.status,
        httpStatus: state.status === 'aborted' ? 499 : state.httpStatus,
        latencyMs: Math.round(ms),
        stream: state.stream,
        error: state.error,
        createdAt: state.createdAt,
      });
    }
    this.#inflight--;
    if (this.#inflight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

const unknownRoute: Handler = async (_ctx, req) => {
  throw new NotFoundError(`Unknown route: ${req.method} ${(req.url ?? '').split('?')[0]}`, 'unknown_route');
};

/** `GET /v1/models`: the models the presented key may use, in OpenAI's list shape. */
const handleModels: Handler = async (ctx, req, res, state) => {
  const key = ctx.auth.authenticate(req.headers, Date.now());
  state.key = key;
  const created = Math.floor(Date.now() / 1000);
  const data = ctx.routing
    .listModels(key.group)
    .filter((id) => key.models === null || matchesAnyModel(key.models, id))
    .map((id) => ({ id, object: 'model', created, owned_by: 'switchyard' }));
  sendJson(res, 200, { object: 'list', data });
};
