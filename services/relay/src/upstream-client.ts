import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import { UpstreamError, UpstreamTimeoutError } from '@switchyard/core';
import type { PreparedRequest, UpstreamTarget } from '@switchyard/providers';

/** Upstream timeouts, in milliseconds. */
export interface UpstreamTimeouts {
  /** TCP/TLS connect. */
  connectMs: number;
  /** From sending the request to the response headers (and, for streams, the first chunk). */
  firstByteMs: number;
  /** Longest silence allowed between two body chunks. */
  idleMs: number;
}

/** Where and how one upstream request goes: the account's proxy and its channel's timeouts. */
export interface SendOptions {
  /** Outbound proxy URL, or null for a direct connection. */
  proxyUrl: string | null;
  timeouts: UpstreamTimeouts;
}

/**
 * Picks the undici dispatcher for a target (the composition root passes the adapters' guarded,
 * proxy-aware factory; without one, a plain Agent, direct only). Its dispatchers must default to the
 * relay's first-byte and idle timeouts (`headersTimeout`, `bodyTimeout`): requests name only others.
 */
export type DispatcherFactory = (target: { proxyUrl: string | null; connectTimeoutMs: number }) => Dispatcher;

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

/**
 * The relay's HTTP client to upstreams: undici with one keep-alive connection pool per origin.
 * Failures come back as UpstreamError (retryable for connection trouble and timeouts).
 */
export class UpstreamClient {
  readonly #agent: Agent;
  readonly #timeouts: UpstreamTimeouts;
  readonly #dispatcherFor: DispatcherFactory | null;

  constructor(
    timeouts: UpstreamTimeouts,
    opts: { connectionsPerOrigin?: number; dispatcherFor?: DispatcherFactory } = {},
  ) {
    this.#timeouts = timeouts;
    this.#dispatcherFor = opts.dispatcherFor ?? null;
    this.#agent = new Agent({
      // Why 256: enough sockets per origin for a busy relay; undici queues beyond it instead of failing.
      connections: opts.connectionsPerOrigin ?? 256,
      // Why 60 s: most providers keep idle connections ~60-120 s; reuse avoids a TLS handshake per call.
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      connect: { timeout: timeouts.connectMs },
      headersTimeout: timeouts.firstByteMs,
      bodyTimeout: timeouts.idleMs,
    });
  }

  async send(target: UpstreamTarget, body: string | Buffer, signal: AbortSignal): Promise<UpstreamResponse> {
    try {
      const res = await this.#direct().request({
        origin: target.origin,
        path: target.path,
        method: 'POST',
        headers: target.headers,
        body,
        signal,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body };
    } catch (err) {
      throw toUpstreamError(err);
    }
  }

  async get(target: UpstreamTarget, signal: AbortSignal): Promise<UpstreamResponse> {
    try {
      const res = await this.#direct().request({
        origin: target.origin,
        path: target.path,
        method: 'GET',
        headers: target.headers,
        signal,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body };
    } catch (err) {
      throw toUpstreamError(err);
    }
  }

  /**
   * Sends a provider-prepared request (method, signed body and headers as the provider built them),
   * through the account's proxy and with its channel's timeouts when `opts` gives them.
   */
  async dispatch(
    prepared: PreparedRequest,
    signal: AbortSignal,
    opts?: SendOptions,
  ): Promise<UpstreamResponse> {
    try {
      const res = await this.#dispatcher(opts).request({
        origin: prepared.origin,
        path: prepared.path,
        method: prepared.method,
        headers: prepared.headers,
        body: prepared.method === 'GET' ? undefined : prepared.body,
        signal,
        // Only what differs from the dispatcher's defaults: per-request timeouts cost undici more.
        ...(opts !== undefined &&
          opts.timeouts.firstByteMs !== this.#timeouts.firstByteMs && {
            headersTimeout: opts.timeouts.firstByteMs,
          }),
        ...(opts !== undefined &&
          opts.timeouts.idleMs !== this.#timeouts.idleMs && { bodyTimeout: opts.timeouts.idleMs }),
      });
      return { status: res.statusCode, headers: res.headers, body: res.body };
    } catch (err) {
      throw toUpstreamError(err);
    }
  }

  /** A form-encoded POST for credential exchanges (Vertex's token endpoint); the body is read whole. */
  async postForm(
    url: string,
    form: Record<string, string>,
    signal: AbortSignal,
  ): Promise<{ status: number; text: string }> {
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    return this.#postWhole(url, headers, new URLSearchParams(form).toString(), signal);
  }

  #dispatcher(opts: SendOptions | undefined): Dispatcher {
    if (opts === undefined) return this.#direct();
    if (this.#dispatcherFor !== null) {
      return this.#dispatcherFor({ proxyUrl: opts.proxyUrl, connectTimeoutMs: opts.timeouts.connectMs });
    }
    if (opts.proxyUrl !== null) {
      throw new UpstreamError('This relay has no outbound proxy support configured.', {
        retryable: true,
        code: 'upstream_proxy_unavailable',
      });
    }
    return this.#agent;
  }

  /** A JSON POST whose answer is read whole (provider lookups such as Code Assist's project). */
  async postJson(
    url: string,
    body: unknown,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<{ status: number; text: string }> {
    return this.#postWhole(
      url,
      { ...headers, 'content-type': 'application/json' },
      JSON.stringify(body),
      signal,
    );
  }

  /** A POST without an account (direct, address-guarded), its answer read whole. */
  async #postWhole(
    url: string,
    headers: Record<string, string>,
    body: string,
    signal: AbortSignal,
  ): Promise<{ status: number; text: string }> {
    const u = new URL(url);
    const res = await this.#direct().request({
      origin: u.origin,
      path: `${u.pathname}${u.search}`,
      method: 'POST',
      headers,
      body,
      signal,
    });
    return { status: res.statusCode, text: await res.body.text() };
  }

  /**
   * For calls without an account (token exchanges, model lists): the guarded direct dispatcher when the
   * composition root gave a factory (so the connect-time address policy applies), else the plain Agent.
   */
  #direct(): Dispatcher {
    return this.#dispatcherFor === null
      ? this.#agent
      : this.#dispatcherFor({ proxyUrl: null, connectTimeoutMs: this.#timeouts.connectMs });
  }

  get timeouts(): UpstreamTimeouts {
    return this.#timeouts;
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}

/** Maps undici/socket failures onto the error catalogue. */
export function toUpstreamError(err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  if (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError
  ) {
    return new UpstreamTimeoutError(`Upstream timed out (${(err as Error).message}).`, err);
  }
  return new UpstreamError('Could not reach the upstream.', {
    retryable: true,
    code: 'upstream_unreachable',
    cause: err,
  });
}
