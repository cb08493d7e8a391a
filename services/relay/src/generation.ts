import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  GatewayError,
  InvalidRequestError,
  NoHealthyUpstreamError,
  RateLimitedError,
  UpstreamError,
  UpstreamRejectedError,
  UpstreamTimeoutError,
} from '@switchyard/core';
import {
  CLIENT_CODECS,
  OpenAIChatStreamTap,
  countTextTokens,
  estimatePromptTokens,
  SseParser,
  prefixSystemPrompt,
  providerFor,
  readOpenAIUsage,
  upstreamCodecFor,
  type CanonicalRequest,
  type CanonicalResponse,
  type CanonicalUsage,
  type ClientCodec,
  type ClientFormat,
  type ProviderAdapter,
  type ProviderDeps,
  type RenderContext,
  type StreamDecoder,
  type StreamEncoder,
  type TokenUsage,
  type Unframer,
  type UpstreamCodec,
  type WireFormat,
} from '@switchyard/providers';
import type { Candidate } from './routing-table.js';
import type { RelayContext } from './relay-context.js';
import { admitModelRequest, forwardedHeaders } from './model-admission.js';
import { inlineImages } from './image-inliner.js';
import { writeWithBackpressure } from './response-writer.js';
import { toUpstreamError, type UpstreamResponse, type UpstreamTimeouts } from './upstream-client.js';
import { BREAKER_OPEN, type FailureKind, type Verdict } from './account-health.js';
import { headerValue } from './header-value.js';
import type { RequestState } from './request-state.js';
import {
  TIMEOUT,
  markAborted,
  providerDeps,
  sendAttempt,
  withTimeout,
  type UsableResponse,
} from './upstream-attempt.js';

/** One client-facing generation endpoint: its wire format and what the URL says. */
export interface GenerationEndpoint {
  format: ClientFormat;
  /** The model from the URL (Gemini), else null: it is the body's `model`. */
  pathModel: string | null;
  /** Streaming from the URL (Gemini's `:streamGenerateContent`), else null: the body's `stream`. */
  pathStream: boolean | null;
  /** Gemini `alt=sse`; true for every other format (their streams are always SSE). */
  sse: boolean;
  /**
   * `chat` for generation. `embeddings` and `completions` (legacy) are OpenAI-only: passed through
   * to channels whose provider serves them, never converted.
   */
  operation: 'chat' | 'embeddings' | 'completions';
}

/** The body field the OpenAI-only operations require. */
const OPERATION_FIELD = { embeddings: 'input', completions: 'prompt' } as const;

/** The top-level field each format's body must carry as an array (checked before any upstream call). */
const REQUIRED_ARRAY: Record<ClientFormat, string | null> = {
  'openai-chat': 'messages',
  'openai-responses': null,
  'anthropic-messages': 'messages',
  gemini: 'contents',
};

/** Everything one generation request carries from attempt to attempt. */
class GenerationJob {
  readonly codec: ClientCodec;
  #canonical: CanonicalRequest | null = null;
  #inlined = false;
  /** Serialised passthrough body and the model it was serialised for. */
  payload = '';
  payloadModel: string | null = null;
  /** The current attempt's timeouts (its channel's, bounded by the request deadline). */
  timeouts: UpstreamTimeouts;

  constructor(
    readonly ctx: RelayContext,
    readonly res: ServerResponse,
    readonly state: RequestState,
    readonly ep: GenerationEndpoint,
    readonly body: Record<string, unknown>,
    readonly stream: boolean,
    readonly includeUsage: boolean,
    readonly clientHeaders: Record<string, string>,
  ) {
    this.codec = CLIENT_CODECS[ep.format];
    this.timeouts = ctx.options.timeouts;
  }

  /** The request in canonical form, parsed on first use (a passthrough never needs it). */
  canonical(): CanonicalRequest {
    this.#canonical ??= this.codec.parseRequest(this.body, {
      ...(this.ep.pathModel === null ? {} : { model: this.ep.pathModel }),
      ...(this.ep.pathStream === null ? {} : { stream: this.ep.pathStream }),
    });
    return this.#canonical;
  }

  /** The canonical request with every image URL fetched (once per request) through the SSRF guard. */
  async inlinedCanonical(): Promise<CanonicalRequest> {
    const req = this.canonical();
    if (!this.#inlined) {
      await inlineImages(req, (url) => this.ctx.images.fetchImage(url, this.state.clientGone.signal));
      this.#inlined = true;
    }
    return req;
  }

  renderContext(): RenderContext {
    return { model: this.state.model ?? '', includeUsage: this.includeUsage, sse: this.ep.sse };
  }

  deps(): ProviderDeps {
    return providerDeps(this.ctx);
  }
}

/**
 * Generation in any client format (OpenAI Chat, OpenAI Responses, Anthropic Messages, Gemini): routes
 * to a channel and account, converts through the canonical model when the upstream speaks another
 * format (or passes the body through with only the model rewritten when it speaks the same one),
 * relays the answer as it comes and fails over before the first byte.
 */
export async function handleGeneration(
  ctx: RelayContext,
  req: IncomingMessage,
  res: ServerResponse,
  state: RequestState,
  ep: GenerationEndpoint,
): Promise<void> {
  const { key, body, model } = await admitModelRequest(ctx, req, res, state, {
    pathModel: ep.pathModel,
    queryKey: ep.format === 'gemini' ? queryKey(req.url) : null,
    validate: (b) => validateShape(ep, b),
    limits: ep.format,
  });

  const stream = ep.operation !== 'embeddings' && (ep.pathStream ?? body.stream === true);
  state.stream = stream;
  let includeUsage = false;
  if (stream && ep.format === 'openai-chat') {
    const so = body.stream_options;
    if (so !== undefined && so !== null && (typeof so !== 'object' || Array.isArray(so))) {
      throw new InvalidRequestError("'stream_options' must be an object.", { param: 'stream_options' });
    }
    includeUsage = (so as Record<string, unknown> | null | undefined)?.include_usage === true;
  }
  const job = new GenerationJob(ctx, res, state, ep, body, stream, includeUsage, forwardedHeaders(req));

  const routed = await ctx.routing.candidates(model, key, {
    accountOffset: (channel) => ctx.coordination.nextCounter(`rr:channel:${channel.id}`),
    sessionKey: sessionKeyOf(req, body),
  });
  const op = ep.operation;
  const served =
    op === 'chat'
      ? routed
      : routed.filter((c) => providerFor(c.channel.provider).supports(op, c.channel, c.upstreamModel));
  if (served.length === 0 && routed.length > 0) {
    throw new InvalidRequestError(
      `No channel serving '${model}' supports ${op === 'embeddings' ? 'embeddings' : 'the legacy completions API'}.`,
      { code: 'operation_not_supported', param: 'model' },
    );
  }
  const { usable, retryAt } = await ctx.health.usable(served);
  const deadline = state.started + ctx.options.deadlineMs;
  let attempts = 0;
  let lastError: UpstreamError | null = null;
  let refused: GatewayError | null = null;
  for (const c of usable) {
    if (attempts >= ctx.options.maxAttempts) break;
    if (performance.now() >= deadline) {
      lastError ??= new UpstreamTimeoutError('The request deadline passed before any upstream answered.');
      break;
    }
    const provider = providerFor(c.channel.provider);
    const upFormat = op === 'chat' ? provider.chatFormat(c.channel, c.upstreamModel) : 'openai-chat';
    // Gemini's JSON-array stream (no alt=sse) cannot be relayed from the SSE stream providers send.
    const passthrough =
      op !== 'chat' ||
      (upFormat === ep.format &&
        provider.passthrough(upFormat) &&
        (ep.sse || !stream || ep.format !== 'gemini'));
    const outcome = await ctx.health.run(
      c,
      () => {
        attempts++;
        state.channelId = c.channel.id;
        state.accountId = c.account.id;
        state.upstreamModel = c.upstreamModel;
        state.attempts = attempts;
        ctx.metrics.formatAttempts.inc({
          client_format: ep.format,
          upstream_format: upFormat,
          mode: passthrough ? 'passthrough' : 'converted',
        });
        job.timeouts = attemptTimeouts(ctx, c, deadline);
        return passthrough
          ? passthroughAttempt(job, c, provider, upFormat)
          : convertedAttempt(job, c, provider, upFormat);
      },
      (o) => judge(o, state),
      { requestId: state.requestId, clientRequestId: state.clientRequestId },
    );
    if (outcome === BREAKER_OPEN) continue;
    if (outcome === null) return;
    if (!(outcome instanceof UpstreamError)) {
      // This target cannot express the request; another channel's format may.
      refused ??= outcome;
      continue;
    }
    lastError = outcome;
    if (state.clientGone.signal.aborted) return;
    ctx.logger.warn(
      {
        request_id: state.requestId,
        channel_id: c.channel.id,
        account_id: c.account.id,
        attempt: attempts,
        code: outcome.code,
        upstream_status: outcome.upstreamStatus,
      },
      'upstream attempt failed; trying the next candidate',
    );
  }
  if (refused !== null) throw refused;
  if (lastError === null && served.length > 0) {
    throw new NoHealthyUpstreamError(model, retryAt === null ? 1000 : Math.max(1000, retryAt - Date.now()));
  }
  throw exhausted(lastError, model);
}

/**
 * The session a request belongs to, for sticky routing: an explicit header (`x-session-id`,
 * `session_id` as Codex sends it), OpenAI's `prompt_cache_key` or `user`, or Anthropic's
 * `metadata.user_id` (Claude Code puts its session there). Null when the request names none.
 */
function sessionKeyOf(req: IncomingMessage, body: Record<string, unknown>): string | null {
  const header = headerValue(req.headers['x-session-id']) ?? headerValue(req.headers['session_id']);
  if (header !== undefined && header !== '') return header;
  for (const v of [
    body.prompt_cache_key,
    (body.metadata as { user_id?: unknown } | undefined)?.user_id,
    body.user,
  ]) {
    if (typeof v === 'string' && v !== '') return v;
  }
  return null;
}

/**
 * The candidate's channel timeouts (or the relay's defaults), the first byte bounded by the deadline.
 * The connect timeout is not cut: it names the connection pool (one per proxy and connect timeout),
 * and a pool per remaining time would never reuse a connection; the first-byte timeout covers it.
 */
function attemptTimeouts(ctx: RelayContext, c: Candidate, deadline: number): UpstreamTimeouts {
  const d = ctx.options.timeouts;
  const t = c.channel.timeouts;
  const left = Math.max(1, Math.floor(deadline - performance.now()));
  return {
    connectMs: t.connectMs ?? d.connectMs,
    firstByteMs: Math.min(t.firstByteMs ?? d.firstByteMs, left),
    idleMs: t.idleMs ?? d.idleMs,
  };
}

/** What an attempt's outcome says about its account. */
function judge(outcome: UpstreamError | GatewayError | null, state: RequestState): Verdict {
  if (outcome === null) {
    if (state.status === 'aborted') return { kind: 'neutral' };
    if (state.error === 'upstream_stream_cut' || state.error === 'upstream_timeout') {
      return {
        kind: 'failure',
        failure: state.error === 'upstream_timeout' ? 'timeout' : 'server_error',
        waitMs: null,
        upstreamStatus: null,
        message: 'The upstream stream broke off after it started.',
      };
    }
    return state.error?.startsWith('upstream_http_4') === true ? { kind: 'neutral' } : { kind: 'success' };
  }
  if (!(outcome instanceof UpstreamError)) return { kind: 'neutral' };
  const status = outcome.upstreamStatus;
  const failure: FailureKind =
    status === 429
      ? 'rate_limited'
      : status === 503 || status === 529
        ? 'overloaded'
        : status === 401 || status === 403
          ? 'auth'
          : outcome instanceof UpstreamTimeoutError
            ? 'timeout'
            : outcome.code === 'upstream_unreachable' || outcome.code === 'upstream_address_refused'
              ? 'unreachable'
              : status !== null && status >= 500
                ? 'server_error'
                : 'bad_response';
  return {
    kind: 'failure',
    failure,
    waitMs: outcome.cooldownMs,
    upstreamStatus: status,
    message: status === null ? `${outcome.code}: ${outcome.message}` : `HTTP ${status}: ${outcome.message}`,
  };
}

/** The route's own checks of the body's shape, before the model is checked against the key. */
function validateShape(ep: GenerationEndpoint, body: Record<string, unknown>): void {
  if (ep.operation !== 'chat') {
    const field = OPERATION_FIELD[ep.operation];
    if (body[field] === undefined || body[field] === null) {
      throw new InvalidRequestError(`'${field}' is required.`, { param: field });
    }
  } else {
    const required = REQUIRED_ARRAY[ep.format];
    if (required !== null && !Array.isArray(body[required])) {
      throw new InvalidRequestError(`'${required}' is required and must be an array.`, { param: required });
    }
    if (ep.format === 'openai-responses' && typeof body.input !== 'string' && !Array.isArray(body.input)) {
      throw new InvalidRequestError("'input' is required and must be a string or an array.", {
        param: 'input',
      });
    }
  }
  if (
    ep.pathStream === null &&
    body.stream !== undefined &&
    body.stream !== null &&
    typeof body.stream !== 'boolean'
  ) {
    throw new InvalidRequestError("'stream' must be a boolean.", { param: 'stream' });
  }
}

/** The error for a request whose every candidate failed before anything reached the client. */
export function exhausted(last: UpstreamError | null, model: string): GatewayError {
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

/** The `key` query parameter (Gemini clients may authenticate with `?key=`). */
function queryKey(url: string | undefined): string | null {
  const q = url?.indexOf('?') ?? -1;
  if (url === undefined || q === -1) return null;
  const v = new URLSearchParams(url.slice(q + 1)).get('key');
  return v === null || v === '' ? null : v;
}

/**
 * Same format on both sides: the client's body with only the model rewritten, the upstream's bytes
 * relayed back. OpenAI Chat streams also ask for usage (stripped again if the client did not).
 */
async function passthroughAttempt(
  job: GenerationJob,
  c: Candidate,
  provider: ProviderAdapter,
  format: WireFormat,
): Promise<UpstreamError | GatewayError | null> {
  const { state, body } = job;
  if (job.payloadModel !== c.upstreamModel) {
    if (format !== 'gemini') body.model = c.upstreamModel;
    if (format === 'openai-chat' && job.stream) {
      // Ask for usage so every stream is billed; the extra chunk is stripped again if the client did not ask.
      body.stream_options = {
        ...((body.stream_options as object | null | undefined) ?? {}),
        include_usage: true,
      };
    }
    job.payloadModel = c.upstreamModel;
  }
  const sent = await prepareAndSend(job, c, provider, format, body);
  if (sent === null || sent instanceof GatewayError) return sent;
  const { up, t0 } = sent;
  const codec = upstreamCodecFor(format);
  const contentType = headerValue(up.headers['content-type']) ?? 'application/json';
  if (up.status >= 400 || !job.stream || !contentType.includes('text/event-stream')) {
    // A non-retryable 4xx is the upstream's verdict on the request itself: relay it as it is.
    const text = await readWhole(job, up);
    if (typeof text !== 'string') return text;
    if (up.status < 400) {
      const parsed = parseJsonOrUndefined(text);
      recordUsage(state, usageOfJson(parsed, codec));
      if (state.usage === null) await countLocally(job, textOfAnswer(answerOfJson(parsed, codec)));
    } else {
      state.status = 'error';
      state.error = `upstream_http_${up.status}`;
    }
    state.httpStatus = up.status;
    job.res.writeHead(up.status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(text),
      'x-request-id': state.echoRequestId,
    });
    job.res.end(text);
    return null;
  }
  const relay =
    format === 'openai-chat' ? openAIPassthrough(job) : rawPassthrough(job, codec!.createStreamDecoder());
  return pumpStream(job, up, t0, relay);
}

/** Through the canonical model: client format → canonical → upstream format, and back. */
async function convertedAttempt(
  job: GenerationJob,
  c: Candidate,
  provider: ProviderAdapter,
  format: WireFormat,
): Promise<UpstreamError | GatewayError | null> {
  const { state } = job;
  const codec = upstreamCodecFor(format);
  if (codec === null) {
    return new UpstreamError(`The channel's provider speaks '${format}', which the gateway cannot send.`, {
      retryable: true,
      code: 'unsupported_upstream_format',
    });
  }
  const canonical = job.canonical();
  if (canonical.n > 1) {
    throw new InvalidRequestError(
      `'n' > 1 is supported only when the client and the upstream speak the same format; this model is served through a ${format} upstream.`,
      { param: 'n' },
    );
  }
  let upBody: Record<string, unknown>;
  try {
    const req = codec.needsInlineImages ? await job.inlinedCanonical() : canonical;
    upBody = codec.buildRequest(req, c.upstreamModel);
  } catch (err) {
    if (err instanceof GatewayError && !(err instanceof UpstreamError) && err.status < 500) {
      if (err.code === 'image_url_refused' || err.code === 'image_fetch_failed') throw err;
      return err;
    }
    throw err;
  }
  const sent = await prepareAndSend(job, c, provider, format, upBody);
  if (sent === null || sent instanceof GatewayError) return sent;
  const { up, t0 } = sent;
  const contentType = headerValue(up.headers['content-type']) ?? '';
  const streamed =
    contentType.includes('text/event-stream') || contentType.includes('application/vnd.amazon.eventstream');
  if (up.status >= 400 || !job.stream || !streamed) {
    const text = await readWhole(job, up);
    if (typeof text !== 'string') return text;
    if (up.status >= 400) {
      state.error = `upstream_http_${up.status}`;
      throw new UpstreamRejectedError(
        up.status,
        codec.errorMessage(text) ?? `The upstream answered HTTP ${up.status}.`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return new UpstreamError('The upstream answered with a body that is not JSON.', {
        retryable: true,
        code: 'upstream_bad_response',
        cause: err,
      });
    }
    const answer = codec.parseResponse(provider.unwrapResponse ? provider.unwrapResponse(parsed) : parsed);
    recordUsage(state, tokenUsage(answer.usage));
    if (state.usage === null || state.usage.totalTokens === 0) await countLocally(job, textOfAnswer(answer));
    if (job.stream) {
      // The upstream ignored streaming: replay the whole answer as the client's stream.
      const encoder = job.codec.createStreamEncoder(job.renderContext());
      let out = '';
      for (const ev of responseEvents(answer)) out += encoder.push(ev);
      writeStreamHead(job);
      job.res.end(out);
      return null;
    }
    state.httpStatus = 200;
    const payload = JSON.stringify(job.codec.renderResponse(answer, job.renderContext()));
    job.res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      'x-request-id': state.echoRequestId,
    });
    job.res.end(payload);
    return null;
  }
  return pumpStream(
    job,
    up,
    t0,
    conversion(
      provider.createUnframer(format),
      codec.createStreamDecoder(),
      job.codec.createStreamEncoder(job.renderContext()),
    ),
  );
}

/** The whole upstream body; a failure to read it is a retryable attempt error (null: the client left). */
async function readWhole(job: GenerationJob, up: UpstreamResponse): Promise<string | UpstreamError | null> {
  try {
    return await up.body.text();
  } catch (err) {
    if (job.state.clientGone.signal.aborted) return markAborted(job.state);
    return toUpstreamError(err);
  }
}

/** Prepares the call for `c` (URL, auth, signing) and sends it. */
async function prepareAndSend(
  job: GenerationJob,
  c: Candidate,
  provider: ProviderAdapter,
  format: WireFormat,
  body: Record<string, unknown>,
): Promise<UsableResponse | GatewayError | null> {
  const prefix = c.account.systemPromptPrefix;
  let upBody = body;
  if (prefix !== null && job.ep.operation === 'chat') {
    // A copy: the body is shared by every attempt, and only this account's profile wants the prefix.
    upBody = structuredClone(body);
    prefixSystemPrompt(format, upBody, prefix);
  }
  let prepared;
  try {
    prepared = await provider.prepare(
      {
        channel: c.channel,
        account: c.account,
        operation: job.ep.operation,
        format,
        model: c.upstreamModel,
        stream: job.stream,
        body: upBody,
        clientHeaders: job.clientHeaders,
      },
      job.deps(),
    );
  } catch (err) {
    return asAttemptError(err);
  }
  addProfileHeaders(prepared.headers, c.account.extraHeaders);
  return sendAttempt(job.ctx, c, prepared, job.state, job.timeouts);
}

/**
 * An OAuth profile's headers on a prepared request. `anthropic-beta` is a comma list: the profile's
 * flags join the client's instead of replacing them.
 */
function addProfileHeaders(headers: Record<string, string>, extra: Record<string, string>): void {
  for (const [name, value] of Object.entries(extra)) {
    const current = headers[name];
    if (current === undefined || current === '') headers[name] = value;
    else if (name === 'anthropic-beta') {
      const flags = new Set(current.split(',').map((f) => f.trim()));
      for (const f of value.split(',')) flags.add(f.trim());
      headers[name] = [...flags].join(',');
    }
  }
}

/** Errors from preparing a request (a failed token exchange) count as a failed attempt when retryable. */
function asAttemptError(err: unknown): UpstreamError | GatewayError {
  if (err instanceof GatewayError) return err;
  return new UpstreamError('Could not prepare the upstream request.', {
    retryable: true,
    code: 'upstream_prepare_failed',
    cause: err,
  });
}

function writeStreamHead(job: GenerationJob): void {
  job.state.httpStatus = 200;
  const json = job.ep.format === 'gemini' && !job.ep.sse;
  job.res.writeHead(200, {
    'content-type': json ? 'application/json; charset=utf-8' : 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': job.state.echoRequestId,
  });
}

/** Awaits the first chunk within what is left of the first-byte timeout. */
async function firstChunk(
  job: GenerationJob,
  up: UpstreamResponse,
  it: AsyncIterator<Buffer>,
  t0: number,
): Promise<IteratorResult<Buffer> | UpstreamError | null> {
  const firstByteLeft = Math.max(1, job.timeouts.firstByteMs - (performance.now() - t0));
  try {
    return await withTimeout(it.next(), firstByteLeft);
  } catch (err) {
    up.body.destroy();
    if (job.state.clientGone.signal.aborted) return markAborted(job.state);
    return err === TIMEOUT
      ? new UpstreamTimeoutError('The upstream sent no data before the first-byte timeout.')
      : toUpstreamError(err);
  }
}

/**
 * Sends the status line with the first bytes and records time to first token. A class, not an
 * object literal with a getter: V8 gives every literal with accessor closures its own hidden class,
 * allocated in old space, which under streaming load cost ~90 MB of RSS (npm run bench).
 */
class StreamWriter {
  started = false;

  constructor(readonly job: GenerationJob) {}

  async send(text: Buffer | string): Promise<void> {
    if (text.length === 0) return;
    const job = this.job;
    if (!this.started) {
      this.started = true;
      writeStreamHead(job);
      job.ctx.metrics.timeToFirstToken.observe(
        { model: job.state.modelLabel, channel: String(job.state.channelId) },
        (performance.now() - job.state.started) / 1000,
      );
    }
    const wait = writeWithBackpressure(job.res, text);
    if (wait !== null) await wait;
  }
}

function emptyStreamError(): UpstreamError {
  return new UpstreamError('The upstream closed the stream without sending anything.', {
    retryable: true,
    code: 'upstream_empty_stream',
  });
}

function streamCut(err: unknown): UpstreamError {
  const broken = toUpstreamError(err);
  if (broken instanceof UpstreamTimeoutError) return broken;
  if (err instanceof UpstreamError && err.code === 'upstream_stream_error') return err;
  return new UpstreamError('The upstream stream broke off.', {
    retryable: false,
    code: 'upstream_stream_cut',
    cause: err,
  });
}

/** How one kind of stream relay turns upstream chunks into client bytes. */
interface StreamRelay {
  /** The bytes to send for an upstream chunk, or for the end of the body (null). Throws on a broken stream. */
  step(chunk: Buffer | null): Buffer | string;
  usage(): TokenUsage | null;
  /** True once the upstream signalled the natural end of the answer. */
  complete(): boolean;
  /** The client format's error event. */
  error(e: UpstreamError): string;
  /** The code of an upstream error event already relayed to the client as it was, or null. */
  relayedError(): string | null;
  /** The answer text (text, thinking, tool arguments) relayed so far. */
  deliveredText(): string;
}

/** OpenAI Chat passthrough: upstream bytes as they are, watched for usage. */
function openAIPassthrough(job: GenerationJob): StreamRelay {
  const tap = new OpenAIChatStreamTap({ stripUsageChunk: !job.includeUsage });
  return {
    step: (chunk) => (chunk === null ? tap.end() : tap.push(chunk)),
    usage: () => tap.usage,
    complete: () => tap.sawDone,
    error: (e) => job.codec.createStreamEncoder(job.renderContext()).error(e),
    relayedError: () => null,
    deliveredText: () => tap.deliveredText(),
  };
}

/** Anthropic / Gemini passthrough: whole SSE events relayed as received, decoded on the side for usage. */
function rawPassthrough(job: GenerationJob, decoder: StreamDecoder): StreamRelay {
  const parser = new SseParser();
  let upstreamError: string | null = null;
  const delivered: string[] = [];
  return {
    step(chunk) {
      if (chunk === null) {
        decoder.end();
        return '';
      }
      let text = '';
      for (const ev of parser.push(chunk)) {
        text += `${ev.raw}\n\n`;
        if (ev.data === null) continue;
        try {
          for (const e of decoder.push({ event: ev.event, data: ev.data })) answerText(e, delivered);
        } catch (err) {
          // The upstream's own error event reaches the client as it is; it is only noted here.
          upstreamError = err instanceof GatewayError ? err.code : 'upstream_stream_error';
        }
      }
      return text;
    },
    usage: () => tokenUsageOrNull(decoder.usage),
    complete: () => decoder.complete,
    error: (e) => job.codec.createStreamEncoder(job.renderContext()).error(e),
    relayedError: () => upstreamError,
    deliveredText: () => delivered.join(''),
  };
}

/** A converted stream: upstream frames → canonical events → the client's events, one chunk at a time. */
function conversion(unframer: Unframer, decoder: StreamDecoder, encoder: StreamEncoder): StreamRelay {
  const delivered: string[] = [];
  return {
    step(chunk) {
      let text = '';
      const frames = chunk === null ? unframer.end() : unframer.push(chunk);
      for (const frame of frames) {
        for (const ev of decoder.push(frame)) {
          answerText(ev, delivered);
          text += encoder.push(ev);
        }
      }
      if (chunk === null) for (const ev of decoder.end()) text += encoder.push(ev);
      return text;
    },
    deliveredText: () => delivered.join(''),
    usage: () => tokenUsageOrNull(decoder.usage),
    complete: () => decoder.complete,
    error: (e) => encoder.error(e),
    relayedError: () => null,
  };
}

/**
 * Relays a streamed answer through `relay`. Nothing is sent before the first client bytes, so until
 * then a failure (an error event first, an empty or cut stream) is a retryable attempt error; after
 * it the stream ends with the client format's error event.
 */
async function pumpStream(
  job: GenerationJob,
  up: UpstreamResponse,
  t0: number,
  relay: StreamRelay,
): Promise<UpstreamError | null> {
  const { state, res } = job;
  const it = up.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await firstChunk(job, up, it, t0);
  if (first === null || first instanceof UpstreamError) return first;
  if (first.done) return emptyStreamError();
  const out = new StreamWriter(job);
  try {
    await out.send(relay.step(first.value));
    for (;;) {
      const next = await it.next();
      if (next.done) break;
      if (state.clientGone.signal.aborted) break;
      await out.send(relay.step(next.value));
    }
    if (!state.clientGone.signal.aborted) await out.send(relay.step(null));
  } catch (err) {
    recordUsage(state, relay.usage());
    if (state.clientGone.signal.aborted) return abortedMidStream(job, relay, out.started);
    if (!out.started) {
      // Nothing reached the client yet (an error event came first): another account may still answer.
      up.body.destroy();
      return err instanceof UpstreamError
        ? new UpstreamError(err.message, {
            retryable: true,
            code: err.code,
            upstreamStatus: err.upstreamStatus,
            cause: err,
          })
        : toUpstreamError(err);
    }
    return endWithError(job, streamCut(err), relay);
  }
  recordUsage(state, relay.usage());
  if (state.clientGone.signal.aborted) return abortedMidStream(job, relay, out.started);
  const relayed = relay.relayedError();
  if (relayed !== null) {
    state.status = 'error';
    state.error = relayed;
  } else if (!relay.complete()) {
    // The upstream ended early: the client must not mistake a cut stream for a complete one.
    if (!out.started) return emptyStreamError();
    const cut = new UpstreamError('The upstream stream ended early.', {
      retryable: false,
      code: 'upstream_stream_cut',
    });
    return endWithError(job, cut, relay);
  }
  // A complete stream whose upstream reported no usage.
  if (state.usage === null) await countLocally(job, relay.deliveredText());
  res.end();
  return null;
}

/** The client left during a stream: what reached it before is billed, as for a cut stream. */
async function abortedMidStream(job: GenerationJob, relay: StreamRelay, started: boolean): Promise<null> {
  if (started) await billDelivered(job, relay);
  return markAborted(job.state);
}

/** The text of a whole answer (text, thinking, tool calls), for counting its tokens. */
function textOfAnswer(answer: CanonicalResponse | null): string {
  const parts: string[] = [];
  for (const part of answer?.content ?? []) {
    if (part.type === 'text' || part.type === 'thinking') parts.push(part.text);
    else if (part.type === 'tool_call') parts.push(part.name, part.arguments);
  }
  return parts.join('');
}

/**
 * Usage counted with the local tokenizer, marked partial: `answerText` as the completion, and the
 * upstream's prompt (and cached) counts when it sent them, else the prompt counted locally.
 */
async function countLocally(job: GenerationJob, answerText: string): Promise<void> {
  const { state } = job;
  const model = state.upstreamModel ?? state.model ?? '';
  const completion = answerText === '' ? 0 : await countTextTokens(model, answerText);
  const prompt = state.usage?.promptTokens || (await promptEstimate(job));
  state.usage = {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: prompt + completion,
    cachedTokens: state.usage?.cachedTokens ?? 0,
    reasoningTokens: 0,
  };
  state.partial = true;
}

/**
 * Ends a stream that already started with an error event in the client's format. What was delivered
 * is billed: when the upstream reported no output tokens before the cut, the answer text relayed is
 * counted with the local tokenizer (and the prompt too, when the upstream reported none), and the
 * usage is marked partial: see CONVERSION.md, "Cut streams".
 */
async function endWithError(job: GenerationJob, e: UpstreamError, relay: StreamRelay): Promise<null> {
  const { state } = job;
  state.status = 'error';
  state.error = e.code;
  await billDelivered(job, relay);
  if (!job.res.destroyed) job.res.end(relay.error(e));
  return null;
}

/**
 * A stream that ended before the upstream's usage (cut, or the client left): when the upstream
 * reported no output tokens, the answer text relayed is counted with the local tokenizer (and the
 * prompt too, when the upstream reported none), and the usage is marked partial.
 */
async function billDelivered(job: GenerationJob, relay: StreamRelay): Promise<void> {
  const u = job.state.usage;
  if (u === null || u.completionTokens === 0) await countLocally(job, relay.deliveredText());
}

/** The prompt's tokens: counted at admission when a limit needed them, else now. */
async function promptEstimate(job: GenerationJob): Promise<number> {
  if (job.state.promptEstimate > 0) return job.state.promptEstimate;
  const model = job.state.upstreamModel ?? job.state.model ?? '';
  return (await estimatePromptTokens(job.ep.format, job.body, model)).tokens;
}

/** Collects the generated answer text an event carries. */
function answerText(ev: Parameters<StreamEncoder['push']>[0], out: string[]): void {
  if (ev.type === 'text_delta' || ev.type === 'thinking_delta') out.push(ev.text);
  else if (ev.type === 'tool_args_delta') out.push(ev.json);
}

/** A whole answer as the canonical stream events that would have produced it. */
function responseEvents(
  answer: ReturnType<UpstreamCodec['parseResponse']>,
): Parameters<StreamEncoder['push']>[0][] {
  const events: Parameters<StreamEncoder['push']>[0][] = [
    { type: 'message_start', id: answer.id, model: answer.model, usage: answer.usage },
  ];
  answer.content.forEach((part, index) => {
    if (part.type === 'text') {
      events.push({ type: 'block_start', index, block: { type: 'text' } });
      events.push({ type: 'text_delta', index, text: part.text });
    } else if (part.type === 'thinking') {
      events.push({ type: 'block_start', index, block: { type: 'thinking' } });
      events.push({ type: 'thinking_delta', index, text: part.text });
      if (part.signature !== null) events.push({ type: 'signature_delta', index, signature: part.signature });
    } else if (part.type === 'redacted_thinking') {
      events.push({ type: 'block_start', index, block: { type: 'redacted_thinking', data: part.data } });
    } else {
      events.push({ type: 'block_start', index, block: { type: 'tool_call', id: part.id, name: part.name } });
      events.push({ type: 'tool_args_delta', index, json: part.arguments });
    }
    events.push({ type: 'block_stop', index });
  });
  events.push({
    type: 'message_delta',
    stopReason: answer.stopReason,
    stopSequence: answer.stopSequence,
    usage: answer.usage,
  });
  events.push({ type: 'message_stop' });
  return events;
}

export function recordUsage(state: RequestState, usage: TokenUsage | null): void {
  if (usage !== null) state.usage = usage;
}

export function tokenUsage(u: CanonicalUsage): TokenUsage {
  return {
    promptTokens: u.inputTokens,
    completionTokens: u.outputTokens,
    totalTokens: u.inputTokens + u.outputTokens,
    cachedTokens: u.cachedInputTokens,
    reasoningTokens: u.reasoningTokens,
  };
}

function tokenUsageOrNull(u: CanonicalUsage | null): TokenUsage | null {
  return u === null ? null : tokenUsage(u);
}

/** The parsed body, or undefined when it is not JSON. */
function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A passthrough answer in canonical form, for counting its text; null when it cannot be read. */
function answerOfJson(obj: unknown, codec: UpstreamCodec | null): CanonicalResponse | null {
  if (codec === null || obj === undefined) return null;
  try {
    return codec.parseResponse(obj);
  } catch {
    return null;
  }
}

function usageOfJson(obj: unknown, codec: UpstreamCodec | null): TokenUsage | null {
  if (obj === null || typeof obj !== 'object') return null;
  if (codec === null || codec.format === 'openai-chat') {
    return readOpenAIUsage((obj as { usage?: unknown }).usage);
  }
  try {
    return tokenUsageOrNull(codec.usageOf(obj));
  } catch {
    return null;
  }
}
