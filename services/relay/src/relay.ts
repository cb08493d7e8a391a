import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import {
  GatewayError,
  NotFoundError,
  type AccountStatusReporter,
  type ConfigSnapshot,
  type ConfigSource,
  type CoordinationStore,
  type UsageBus,
} from '@switchyard/core';
import { AccountHealth } from './account-health.js';
import { CLIENT_CODECS, preloadTokenizer, type ClientFormat } from '@switchyard/providers';
import { handleCountTokens, handleGeminiCountTokens } from './count-tokens.js';
import { handleGeneration, type GenerationEndpoint } from './generation.js';
import { ImageFetcher } from './image-fetcher.js';
import { handleModels } from './model-routes.js';
import { AddressSet } from './client-address.js';
import { KeyAuthenticator } from './key-authenticator.js';
import { Tariff } from './tenancy.js';
import { RelayMetrics } from './relay-metrics.js';
import type { RelayContext, RelaySettings } from './relay-context.js';
import type { RequestState } from './request-state.js';
import { sendJson } from './response-writer.js';
import { RoutingTable } from './routing-table.js';
import { UpstreamClient, type DispatcherFactory } from './upstream-client.js';

export interface RelayOptions {
  configSource: ConfigSource;
  coordination: CoordinationStore;
  usageBus: UsageBus;
  logger: Logger;
  registry: Registry;
  settings: RelaySettings;
  /** Fetches image URLs that an upstream format needs inline; defaults to the SSRF-guarded fetcher. */
  imageFetcher?: ImageFetcher;
  /** Where auth failures (401/403) of accounts are reported; null: they only cool the account down. */
  accountReporter?: AccountStatusReporter | null;
  /** This relay's id in health reports (default: host name and process id). */
  relayId?: string;
  /** The outbound dispatchers (proxies, connect-time SSRF guard); default: direct connections only. */
  dispatcherFor?: DispatcherFactory;
}

type Handler = (
  ctx: RelayContext,
  req: IncomingMessage,
  res: ServerResponse,
  state: RequestState,
) => Promise<void>;

/** Routes whose requests are billed: each writes one usage event. */
const BILLABLE = new Set([
  '/v1/chat/completions',
  '/v1/responses',
  '/v1/messages',
  '/v1beta/models:generateContent',
  '/v1beta/models:streamGenerateContent',
  '/v1/embeddings',
  '/v1/completions',
]);

const ENDPOINTS: Record<string, GenerationEndpoint> = {
  '/v1/chat/completions': {
    format: 'openai-chat',
    pathModel: null,
    pathStream: null,
    sse: true,
    operation: 'chat',
  },
  '/v1/responses': {
    format: 'openai-responses',
    pathModel: null,
    pathStream: null,
    sse: true,
    operation: 'chat',
  },
  '/v1/messages': {
    format: 'anthropic-messages',
    pathModel: null,
    pathStream: null,
    sse: true,
    operation: 'chat',
  },
  '/v1/embeddings': {
    format: 'openai-chat',
    pathModel: null,
    pathStream: null,
    sse: true,
    operation: 'embeddings',
  },
  '/v1/completions': {
    format: 'openai-chat',
    pathModel: null,
    pathStream: null,
    sse: true,
    operation: 'completions',
  },
};

// Why 5 s / 15 s: a relay that stops is out of the count within 15 s; two missed beats are tolerated.
const HEARTBEAT_INTERVAL_MS = 5_000;
const HEARTBEAT_TTL_MS = 15_000;

/** A caller-supplied request id is echoed only if it is short and plain (it lands in logs and headers). */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * The relay role: the OpenAI-compatible client API under `/v1`. Keeps its routing tables in memory,
 * rebuilt from each config snapshot; publishes one usage event per authenticated request.
 */
export class Relay {
  /** This relay's name in health reports and the relay registry: `relayId`, or host:pid. */
  readonly id: string;
  readonly #ctx: RelayContext;
  readonly #bus: UsageBus;
  readonly #unsubscribe: () => void;
  #inflight = 0;
  #idleWaiters: Array<() => void> = [];
  /** Hold releases still on their way to the coordination store. */
  readonly #releasing = new Set<Promise<void>>();
  readonly #heartbeat: NodeJS.Timeout;

  constructor(opts: RelayOptions) {
    const auth = new KeyAuthenticator();
    const routing = new RoutingTable();
    const metrics = new RelayMetrics(opts.registry);
    const relayId = opts.relayId ?? `${hostname()}:${process.pid}`;
    this.id = relayId;
    const health = new AccountHealth({
      coordination: opts.coordination,
      reporter: opts.accountReporter ?? null,
      relayId,
      metrics,
      logger: opts.logger,
    });
    const tariff = new Tariff();
    let preloaded = false;
    const apply = (s: ReturnType<ConfigSource['current']>): void => {
      auth.update(s);
      tariff.update(s);
      if (!preloaded && needsTokenizer(s)) {
        // Holds count prompts; load the common encoding now rather than on a caller's first request.
        preloaded = true;
        preloadTokenizer('gpt-4o').catch(() => undefined);
      }
      routing.update(s);
      health.update(s);
    };
    apply(opts.configSource.current());
    this.#unsubscribe = opts.configSource.subscribe(apply);
    this.#bus = opts.usageBus;
    // Live relays are counted so that, while the shared store is down, each takes its share of limits.
    const beat = (): void => {
      opts.coordination.heartbeat(relayId, HEARTBEAT_TTL_MS).catch(() => undefined);
    };
    beat();
    this.#heartbeat = setInterval(beat, HEARTBEAT_INTERVAL_MS);
    this.#heartbeat.unref();
    this.#ctx = {
      options: opts.settings,
      auth,
      routing,
      tariff,
      trustedProxies:
        opts.settings.trustedProxies.length === 0 ? null : new AddressSet(opts.settings.trustedProxies),
      coordination: opts.coordination,
      health,
      upstream: new UpstreamClient(opts.settings.timeouts, {
        ...(opts.dispatcherFor !== undefined && { dispatcherFor: opts.dispatcherFor }),
      }),
      images: opts.imageFetcher ?? imageFetcherFor(opts.settings),
      metrics,
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
    const v1 = url.startsWith('/v1/');
    if (!v1 && !url.startsWith('/v1beta/')) return false;
    // The key owner's usage pages are the control plane's (they read the ledger).
    if (url.startsWith('/v1/dashboard/') || url === '/v1/dashboard') return false;
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method;
    if (v1) {
      const ep = method === 'POST' ? ENDPOINTS[path] : undefined;
      const errors: ClientFormat = path.startsWith('/v1/messages') ? 'anthropic-messages' : 'openai-chat';
      if (ep !== undefined) {
        void this.#handle(path, errors, (ctx, rq, rs, st) => handleGeneration(ctx, rq, rs, st, ep), req, res);
      } else if (path === '/v1/messages/count_tokens' && method === 'POST') {
        void this.#handle(path, errors, handleCountTokens, req, res);
      } else if (
        (path === '/v1/models' || path.startsWith('/v1/models/')) &&
        (method === 'GET' || method === 'HEAD')
      ) {
        const shape = req.headers['anthropic-version'] === undefined ? 'openai' : 'anthropic';
        const id = path === '/v1/models' ? null : decodePath(path.slice('/v1/models/'.length));
        void this.#handle(
          '/v1/models',
          shape === 'anthropic' ? 'anthropic-messages' : 'openai-chat',
          async (ctx, rq, rs, st) => handleModels(ctx, rq, rs, st, shape, id, null),
          req,
          res,
        );
      } else {
        void this.#handle('unknown', errors, unknownRoute, req, res);
      }
      return true;
    }
    // Gemini: /v1beta/models, /v1beta/models/{model}, /v1beta/models/{model}:{method}
    const rest = path.startsWith('/v1beta/models/') ? path.slice('/v1beta/models/'.length) : null;
    const colon = rest === null ? -1 : rest.lastIndexOf(':');
    const action = colon === -1 ? null : rest!.slice(colon + 1);
    const search = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
    if (method === 'POST' && rest !== null && action === 'countTokens') {
      const model = decodePath(rest.slice(0, colon));
      const key = search.get('key');
      void this.#handle(
        '/v1beta/models:countTokens',
        'gemini',
        (ctx, rq, rs, st) => handleGeminiCountTokens(ctx, rq, rs, st, model, key === '' ? null : key),
        req,
        res,
      );
    } else if (
      method === 'POST' &&
      rest !== null &&
      (action === 'generateContent' || action === 'streamGenerateContent')
    ) {
      const ep: GenerationEndpoint = {
        format: 'gemini',
        pathModel: decodePath(rest.slice(0, colon)),
        pathStream: action === 'streamGenerateContent',
        sse: search.get('alt') === 'sse',
        operation: 'chat',
      };
      void this.#handle(
        `/v1beta/models:${action}`,
        'gemini',
        (ctx, rq, rs, st) => handleGeneration(ctx, rq, rs, st, ep),
        req,
        res,
      );
    } else if (
      (method === 'GET' || method === 'HEAD') &&
      (path === '/v1beta/models' || (rest !== null && colon === -1))
    ) {
      const id = rest === null ? null : decodePath(rest);
      const key = search.get('key');
      void this.#handle(
        '/v1beta/models',
        'gemini',
        async (ctx, rq, rs, st) => handleModels(ctx, rq, rs, st, 'gemini', id, key === '' ? null : key),
        req,
        res,
      );
    } else {
      void this.#handle('unknown', 'gemini', unknownRoute, req, res);
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
    await Promise.all([...this.#releasing]);
    await this.#bus.drained();
  }

  /** This relay's view of every channel-account's health (breakers, local blocks). */
  get health(): AccountHealth {
    return this.#ctx.health;
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#unsubscribe();
    await Promise.all([...this.#releasing]);
    await this.#ctx.health.flush();
    this.#ctx.health.close();
    await this.#ctx.upstream.close();
  }

  async #handle(
    route: string,
    errors: ClientFormat,
    handler: Handler,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
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
      user: null,
      hold: null,
      promptEstimate: 0,
      images: 0,
      partial: false,
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
    // Anthropic's SDKs read the request id from `request-id` (and show it in their errors).
    if (errors === 'anthropic-messages') res.setHeader('request-id', state.echoRequestId);
    res.once('close', () => {
      if (!res.writableFinished) state.clientGone.abort();
    });
    try {
      await handler(this.#ctx, req, res, state);
    } catch (err) {
      this.#fail(state, res, err, errors);
    } finally {
      this.#finish(state);
    }
  }

  #fail(state: RequestState, res: ServerResponse, err: unknown, format: ClientFormat): void {
    const { status, body } = CLIENT_CODECS[format].renderError(err);
    state.status = state.clientGone.signal.aborted ? 'aborted' : 'error';
    state.error = state.clientGone.signal.aborted
      ? 'client_closed'
      : err instanceof GatewayError
        ? err.code
        : 'internal_error';
    state.httpStatus = status;
    if (status >= 500) {
      this.#ctx.logger.error({ request_id: state.requestId, err }, 'request failed');
    }
    if (res.headersSent) {
      if (!res.writableEnded) {
        // The stream already started: end it with the format's own error event.
        res.end(
          CLIENT_CODECS[format]
            .createStreamEncoder({ model: state.model ?? '', includeUsage: false, sse: true })
            .error(err),
        );
      }
      return;
    }
    const headers: Record<string, string> = {};
    const retryAfter = (err as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof retryAfter === 'number')
      headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfter / 1000)));
    sendJson(res, status, body, headers);
  }

  /** Tokens and cost of a billed request, by its model label (bounded values). */
  #meter(model: string, u: NonNullable<RequestState['usage']>, cost: number): void {
    const m = this.#ctx.metrics;
    if (cost > 0) m.costNano.inc({ model }, cost);
    if (u.promptTokens > 0) m.tokens.inc({ model, kind: 'prompt' }, u.promptTokens);
    if (u.completionTokens > 0) m.tokens.inc({ model, kind: 'completion' }, u.completionTokens);
    if ((u.cachedTokens ?? 0) > 0) m.tokens.inc({ model, kind: 'cached' }, u.cachedTokens!);
    if ((u.reasoningTokens ?? 0) > 0) m.tokens.inc({ model, kind: 'reasoning' }, u.reasoningTokens!);
  }

  /** Frees the request's hold and charges its cost in the coordination store (never delays the response). */
  #release(state: RequestState, cost: number): void {
    const hold = state.hold!;
    const used = state.usage === null ? 0 : state.usage.totalTokens;
    const released = this.#ctx.coordination
      .release({
        requestId: state.requestId,
        now: Date.now(),
        admittedAt: hold.admittedAt,
        holdNano: hold.holdNano,
        costNano: cost,
        tokensDelta: used - hold.tokens,
        scopes: hold.scopes,
      })
      .catch((err: unknown) => {
        this.#ctx.logger.warn({ request_id: state.requestId, err }, 'releasing the request hold failed');
      })
      .finally(() => this.#releasing.delete(released));
    this.#releasing.add(released);
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
    const { key, model } = state;
    const billed = key !== null && model !== null && BILLABLE.has(state.route);
    const u = state.usage;
    const cost =
      billed && u !== null
        ? this.#ctx.tariff.cost(model, state.upstreamModel, key.group, { ...u, images: state.images })
        : 0;
    if (state.hold !== null) this.#release(state, cost);
    if (billed) {
      if (u !== null) this.#meter(state.modelLabel, u, cost);
      this.#bus.publish({
        requestId: state.requestId,
        clientRequestId: state.clientRequestId,
        keyId: key.id,
        channelId: state.channelId,
        accountId: state.accountId,
        model,
        upstreamModel: state.upstreamModel,
        promptTokens: u?.promptTokens ?? 0,
        completionTokens: u?.completionTokens ?? 0,
        totalTokens: u?.totalTokens ?? 0,
        cachedTokens: u?.cachedTokens ?? 0,
        reasoningTokens: u?.reasoningTokens ?? 0,
        status: state.status,
        httpStatus: state.status === 'aborted' ? 499 : state.httpStatus,
        latencyMs: Math.round(ms),
        stream: state.stream,
        error: state.error,
        createdAt: state.createdAt,
        userId: key.userId,
        costNano: cost,
        partial: state.partial,
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

/** True when some key or user has a quota or a token limit: their requests' prompts are counted. */
function needsTokenizer(s: ConfigSnapshot): boolean {
  return (
    s.keys.some((k) => k.quotaNano !== null || k.tpmLimit !== null) ||
    s.users.some((u) => u.quotaNano !== null || u.tpmLimit !== null)
  );
}

function imageFetcherFor(settings: RelaySettings): ImageFetcher {
  const images = settings.images;
  if (images === undefined) return new ImageFetcher();
  const extra = new Set<string>(images.allow);
  return new ImageFetcher({
    maxBytes: images.maxBytes,
    timeoutMs: images.timeoutMs,
    allow: (cls) => cls === 'public' || extra.has(cls),
  });
}

function decodePath(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
