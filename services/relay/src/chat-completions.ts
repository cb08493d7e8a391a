import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  InvalidRequestError,
  ModelNotFoundError,
  NoHealthyUpstreamError,
  PermissionDeniedError,
  RateLimitedError,
  UpstreamError,
  UpstreamTimeoutError,
  matchesAnyModel,
  type GatewayError,
  type KeyRecord,
} from '@switchyard/core';
import {
  OpenAIChatStreamTap,
  providerFor,
  readOpenAIUsage,
  renderOpenAIError,
  type TokenUsage,
} from '@switchyard/providers';
import type { Candidate } from './routing-table.js';
import type { RelayContext } from './relay-context.js';
import { parseJsonObject, readBody } from './body-reader.js';
import { writeWithBackpressure } from './response-writer.js';
import { toUpstreamError, type UpstreamResponse } from './upstream-client.js';
import type { RequestState } from './request-state.js';

/**
 * `POST /v1/chat/completions` to OpenAI-compatible upstreams: the body is forwarded with only the
 * model rewritten (plus `stream_options.include_usage` for streams), the answer relayed as it comes.
 */
export async function handleChatCompletions(
  ctx: RelayContext,
  req: IncomingMessage,
  res: ServerResponse,
  state: RequestState,
): Promise<void> {
  const key = ctx.auth.authenticate(req.headers, Date.now());
  state.key = key;
  const body = parseJsonObject(await readBody(req, ctx.options.bodyLimitBytes));
  const model = body.model;
  if (typeof model !== 'string' || model === '') {
    throw new InvalidRequestError("'model' is required and must be a non-empty string.", { param: 'model' });
  }
  state.model = model;
  if (!Array.isArray(body.messages)) {
    throw new InvalidRequestError("'messages' is required and must be an array.", { param: 'messages' });
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') {
    throw new InvalidRequestError("'stream' must be a boolean.", { param: 'stream' });
  }
  checkModelAllowed(key, model);
  if (!ctx.routing.serves(model, key.group)) throw new ModelNotFoundError(model);
  state.modelLabel = model;

  const stream = body.stream === true;
  state.stream = stream;
  let clientWantsUsage = false;
  if (stream) {
    const so = body.stream_options;
    if (so !== undefined && so !== null && (typeof so !== 'object' || Array.isArray(so))) {
      throw new InvalidRequestError("'stream_options' must be an object.", { param: 'stream_options' });
    }
    const opts = (so ?? {}) as Record<string, unknown>;
    clientWantsUsage = opts.include_usage === true;
    // Ask for usage so every stream is billed; the extra chunk is stripped again if the client did not ask.
    body.stream_options = { ...opts, include_usage: true };
  }

  const candidates = await ctx.routing.candidates(model, key.group, (channel) =>
    ctx.coordination.nextCounter(`rr:channel:${channel.id}`),
  );
  const attempts = Math.min(candidates.length, ctx.options.maxAttempts);
  let lastError: UpstreamError | null = null;
  let payload = '';
  let payloadModel: string | null = null;
  for (let i = 0; i < attempts; i++) {
    const c = candidates[i]!;
    if (payloadModel !== c.upstreamModel) {
      body.model = c.upstreamModel;
      payload = JSON.stringify(body);
      payloadModel = c.upstreamModel;
    }
    state.channelId = c.channel.id;
    state.accountId = c.account.id;
    state.upstreamModel = c.upstreamModel;
    if (i > 0) state.attempts = i + 1;
    const outcome = await attempt(ctx, c, payload, res, state, stream, clientWantsUsage);
    if (outcome === null) return;
    lastError = outcome;
    if (state.clientGone.signal.aborted) return;
    ctx.logger.warn(
      {
        request_id: state.requestId,
        channel_id: c.channel.id,
        account_id: c.account.id,
        attempt: i + 1,
        code: outcome.code,
        upstream_status: outcome.upstreamStatus,
      },
      'upstream attempt failed; trying the next candidate',
    );
  }
  throw exhausted(lastError, model);
}

function checkModelAllowed(key: KeyRecord, model: string): void {
  if (key.models !== null && !matchesAnyModel(key.models, model)) {
    throw new PermissionDeniedError(`This API key may not use the model '${model}'.`, 'model_not_allowed');
  }
}

/** The error for a request whose every candidate failed before anything reached the client. */
function exhausted(last: UpstreamError | null, model: string): GatewayError {
  if (last === null) return new NoHealthyUpstreamError(model);
  if (last.upstreamStatus === 429) {
    return new RateLimitedError(
      `Every upstream account for '${model}' is rate limited; retry later.`,
      last.cooldownMs,
      last,
    );
  }
  return last;
}

/**
 * One upstream attempt. Returns null when the request is finished (answered, relayed or the client
 * left), or the retryable failure that happened before any byte reached the client.
 */
async function attempt(
  ctx: RelayContext,
  c: Candidate,
  payload: string,
  res: ServerResponse,
  state: RequestState,
  stream: boolean,
  clientWantsUsage: boolean,
): Promise<UpstreamError | null> {
  const channelLabel = String(c.channel.id);
  const target = providerFor(c.channel.provider).target(c.channel, c.account, 'chat_completions');
  const t0 = performance.now();
  let up: UpstreamResponse;
  try {
    up = await ctx.upstream.send(target, payload, state.clientGone.signal);
  } catch (err) {
    if (state.clientGone.signal.aborted) return markAborted(state);
    const e = toUpstreamError(err);
    ctx.metrics.upstreamAttempts.inc({
      channel: channelLabel,
      outcome: e instanceof UpstreamTimeoutError ? 'timeout' : 'error',
    });
    return e;
  }
  const status = up.status;
  const outcome = status < 400 ? 'ok' : status === 429 ? 'http_429' : status >= 500 ? 'http_5xx' : 'http_4xx';
  ctx.metrics.upstreamDuration.observe({ channel: channelLabel, outcome }, (performance.now() - t0) / 1000);
  ctx.metrics.upstreamAttempts.inc({ channel: channelLabel, outcome });

  if (status === 429 || status >= 500) {
    const detail = await up.body.text().catch(() => '');
    // 503 and Anthropic's 529 mean "overloaded": the client may retry later, so they stay 503.
    const unavailable = status === 503 || status === 529;
    return new UpstreamError(`The upstream answered HTTP ${status}.`, {
      retryable: true,
      upstreamStatus: status,
      cooldownMs: retryAfterMs(up.headers['retry-after']),
      status: unavailable ? 503 : 502,
      code:
        status === 429 ? 'upstream_rate_limited' : unavailable ? 'upstream_unavailable' : 'upstream_error',
      cause: detail.slice(0, 500),
    });
  }
  if (status === 401 || status === 403 || (status >= 300 && status < 400)) {
    // 401/403 reject the gateway's account credential, not the caller's key: relaying them would tell
    // the client its own key is wrong. Another account may work; if none does, the client gets a 502.
    await up.body.dump().catch(() => undefined);
    const auth = status >= 400;
    if (auth) {
      ctx.logger.error(
        {
          request_id: state.requestId,
          channel_id: c.channel.id,
          account_id: c.account.id,
          upstream_status: status,
        },
        'upstream rejected the account credential',
      );
    }
    return new UpstreamError(
      auth
        ? `The upstream rejected the gateway's credentials for this channel (HTTP ${status}).`
        : `The upstream answered with a redirect (HTTP ${status}); check the channel's base_url.`,
      { retryable: true, upstreamStatus: status, code: auth ? 'upstream_auth_failed' : 'upstream_redirect' },
    );
  }
  const contentType = headerValue(up.headers['content-type']) ?? 'application/json';
  if (status >= 400 || !stream || !contentType.includes('text/event-stream')) {
    // A non-retryable 4xx is the upstream's verdict on the request itself: relay it as it is.
    let text: string;
    try {
      text = await up.body.text();
    } catch (err) {
      if (state.clientGone.signal.aborted) return markAborted(state);
      return toUpstreamError(err);
    }
    if (status < 400) recordUsage(state, usageOfJson(text));
    else {
      state.status = 'error';
      state.error = `upstream_http_${status}`;
    }
    state.httpStatus = status;
    res.writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(text),
      'x-request-id': state.echoRequestId,
    });
    res.end(text);
    return null;
  }
  return relayStream(ctx, up, res, state, clientWantsUsage, t0);
}

/** Relays an SSE answer. Nothing is sent before the first upstream chunk, so failover stays possible. */
async function relayStream(
  ctx: RelayContext,
  up: UpstreamResponse,
  res: ServerResponse,
  state: RequestState,
  clientWantsUsage: boolean,
  t0: number,
): Promise<UpstreamError | null> {
  const tap = new OpenAIChatStreamTap({ stripUsageChunk: !clientWantsUsage });
  const it = up.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const firstByteLeft = Math.max(1, ctx.options.timeouts.firstByteMs - (performance.now() - t0));
  let first: IteratorResult<Buffer>;
  try {
    first = await withTimeout(it.next(), firstByteLeft);
  } catch (err) {
    up.body.destroy();
    if (state.clientGone.signal.aborted) return markAborted(state);
    return err === TIMEOUT
      ? new UpstreamTimeoutError('The upstream sent no data before the first-byte timeout.')
      : toUpstreamError(err);
  }
  if (first.done) {
    return new UpstreamError('The upstream closed the stream without sending anything.', {
      retryable: true,
      code: 'upstream_empty_stream',
    });
  }

  state.httpStatus = 200;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': state.echoRequestId,
  });
  // No flushHeaders(): the status line goes out together with the first chunk, in one write.
  let firstSent = false;
  const send = async (text: Buffer | string): Promise<void> => {
    if (text.length === 0) return;
    if (!firstSent) {
      firstSent = true;
      ctx.metrics.timeToFirstToken.observe(
        { model: state.modelLabel, channel: String(state.channelId) },
        (performance.now() - state.started) / 1000,
      );
    }
    const wait = writeWithBackpressure(res, text);
    if (wait !== null) await wait;
  };

  try {
    await send(tap.push(first.value));
    for (;;) {
      const next = await it.next();
      if (next.done) break;
      if (state.clientGone.signal.aborted) break;
      await send(tap.push(next.value));
    }
    await send(tap.end());
  } catch (err) {
    recordUsage(state, tap.usage);
    if (state.clientGone.signal.aborted) {
      markAborted(state);
      return null;
    }
    // After the first byte nothing can be retried: end the stream with an error event the SDK understands.
    const broken = toUpstreamError(err);
    const e =
      broken instanceof UpstreamTimeoutError
        ? broken
        : new UpstreamError('The upstream stream broke off.', {
            retryable: false,
            code: 'upstream_stream_cut',
            cause: err,
          });
    state.status = 'error';
    state.error = e.code;
    if (!res.destroyed) res.end(`data: ${JSON.stringify(renderOpenAIError(e).body)}\n\n`);
    return null;
  }
  recordUsage(state, tap.usage);
  if (state.clientGone.signal.aborted) {
    markAborted(state);
    return null;
  }
  if (!tap.sawDone) {
    // The upstream ended without [DONE]: the client must not mistake a cut stream for a complete one.
    state.status = 'error';
    state.error = 'upstream_stream_cut';
    res.end(
      `data: ${JSON.stringify(renderOpenAIError(new UpstreamError('The upstream stream ended early.', { retryable: false, code: 'upstream_stream_cut' })).body)}\n\n`,
    );
    return null;
  }
  res.end();
  return null;
}

const TIMEOUT = Symbol('timeout');

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(TIMEOUT), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function markAborted(state: RequestState): null {
  state.status = 'aborted';
  state.error = 'client_closed';
  return null;
}

function recordUsage(state: RequestState, usage: TokenUsage | null): void {
  if (usage !== null) state.usage = usage;
}

function usageOfJson(text: string): TokenUsage | null {
  try {
    const obj = JSON.parse(text) as { usage?: unknown } | null;
    return obj !== null && typeof obj === 'object' ? readOpenAIUsage(obj.usage) : null;
  } catch {
    return null;
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Retry-After as seconds or an HTTP date, in milliseconds; null when absent or unparsable. */
export function retryAfterMs(v: string | string[] | undefined, now = Date.now()): number | null {
  const s = headerValue(v);
  if (s === undefined) return null;
  const secs = Number(s);
  if (Number.isFinite(secs) && secs >= 0) return Math.round(secs * 1000);
  const at = Date.parse(s);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
