import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidRequestError, ModelNotFoundError, UpstreamError, type GatewayError } from '@switchyard/core';
import {
  OpenAIChatStreamTap,
  providerFor,
  readOpenAIUsage,
  type UpstreamOperation,
} from '@switchyard/providers';
import { parseJsonObject, readBody } from './body-reader.js';
import { checkModelAllowed, exhausted, recordUsage } from './generation.js';
import type { RelayContext } from './relay-context.js';
import type { RequestState } from './request-state.js';
import { writeWithBackpressure } from './response-writer.js';
import { headerValue, markAborted, sendAttempt } from './upstream-attempt.js';
import { toUpstreamError } from './upstream-client.js';

/** The body field each OpenAI-only operation requires. */
const REQUIRED: Partial<Record<UpstreamOperation, string>> = { embeddings: 'input', completions: 'prompt' };

/**
 * OpenAI-only operations (`/v1/embeddings`, the legacy `/v1/completions`): passed through to channels
 * whose provider serves them, with only the model rewritten. Channels that cannot serve them are
 * skipped; when none can, the client gets a 400 saying so.
 */
export async function handleOpenAIOperation(
  ctx: RelayContext,
  req: IncomingMessage,
  res: ServerResponse,
  state: RequestState,
  operation: 'embeddings' | 'completions',
): Promise<void> {
  const key = ctx.auth.authenticate(req.headers, Date.now());
  state.key = key;
  const body = parseJsonObject(await readBody(req, ctx.options.bodyLimitBytes));
  const model = body.model;
  if (typeof model !== 'string' || model === '') {
    throw new InvalidRequestError("'model' is required and must be a non-empty string.", { param: 'model' });
  }
  state.model = model;
  const field = REQUIRED[operation]!;
  if (body[field] === undefined || body[field] === null) {
    throw new InvalidRequestError(`'${field}' is required.`, { param: field });
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    throw new InvalidRequestError("'stream' must be a boolean.", { param: 'stream' });
  }
  checkModelAllowed(key, model);
  if (!ctx.routing.serves(model, key.group)) throw new ModelNotFoundError(model);
  state.modelLabel = model;
  const stream = operation === 'completions' && body.stream === true;
  state.stream = stream;
  let clientWantsUsage = false;
  if (stream) {
    const so = body.stream_options;
    clientWantsUsage =
      typeof so === 'object' && so !== null && (so as { include_usage?: unknown }).include_usage === true;
    body.stream_options = { ...((so as object | null | undefined) ?? {}), include_usage: true };
  }

  const all = await ctx.routing.candidates(model, key.group, (channel) =>
    ctx.coordination.nextCounter(`rr:channel:${channel.id}`),
  );
  const candidates = all.filter((c) =>
    providerFor(c.channel.provider).supports(operation, c.channel, c.upstreamModel),
  );
  if (candidates.length === 0) {
    throw new InvalidRequestError(
      `No channel serving '${model}' supports ${operation === 'embeddings' ? 'embeddings' : 'the legacy completions API'}.`,
      { code: 'operation_not_supported', param: 'model' },
    );
  }
  const attempts = Math.min(candidates.length, ctx.options.maxAttempts);
  let lastError: UpstreamError | null = null;
  for (let i = 0; i < attempts; i++) {
    const c = candidates[i]!;
    state.channelId = c.channel.id;
    state.accountId = c.account.id;
    state.upstreamModel = c.upstreamModel;
    if (i > 0) state.attempts = i + 1;
    body.model = c.upstreamModel;
    const prepared = await providerFor(c.channel.provider).prepare(
      {
        channel: c.channel,
        account: c.account,
        operation,
        format: 'openai-chat',
        model: c.upstreamModel,
        stream,
        body,
        clientHeaders: {},
      },
      { now: Date.now, postForm: (url, form, signal) => ctx.upstream.postForm(url, form, signal) },
    );
    const sent = await sendAttempt(ctx, c, prepared, state);
    if (sent === null) return;
    if (sent instanceof UpstreamError) {
      lastError = sent;
      if (state.clientGone.signal.aborted) return;
      continue;
    }
    const { up } = sent;
    const contentType = headerValue(up.headers['content-type']) ?? 'application/json';
    if (!stream || up.status >= 400 || !contentType.includes('text/event-stream')) {
      let text: string;
      try {
        text = await up.body.text();
      } catch (err) {
        if (state.clientGone.signal.aborted) {
          markAborted(state);
          return;
        }
        lastError = toUpstreamError(err);
        continue;
      }
      if (up.status < 400) {
        try {
          recordUsage(state, readOpenAIUsage((JSON.parse(text) as { usage?: unknown }).usage));
        } catch {
          // A body that is not JSON is relayed as it is; there is no usage to read.
        }
      } else {
        state.status = 'error';
        state.error = `upstream_http_${up.status}`;
      }
      state.httpStatus = up.status;
      res.writeHead(up.status, {
        'content-type': contentType,
        'content-length': Buffer.byteLength(text),
        'x-request-id': state.echoRequestId,
      });
      res.end(text);
      return;
    }
    const tap = new OpenAIChatStreamTap({ stripUsageChunk: !clientWantsUsage });
    state.httpStatus = 200;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-request-id': state.echoRequestId,
    });
    try {
      for await (const chunk of up.body as AsyncIterable<Buffer>) {
        if (state.clientGone.signal.aborted) break;
        const out = tap.push(chunk);
        if (out.length > 0) {
          const wait = writeWithBackpressure(res, out);
          if (wait !== null) await wait;
        }
      }
    } catch (err) {
      state.status = 'error';
      state.error = (toUpstreamError(err) as GatewayError).code;
    }
    recordUsage(state, tap.usage);
    if (state.clientGone.signal.aborted) markAborted(state);
    res.end();
    return;
  }
  throw exhausted(lastError, model);
}
