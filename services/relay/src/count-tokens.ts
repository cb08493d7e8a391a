import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidRequestError, ModelNotFoundError, UpstreamError } from '@switchyard/core';
import { CLIENT_CODECS, countTokensEstimate, providerFor } from '@switchyard/providers';
import { parseJsonObject, readBody } from './body-reader.js';
import { checkModelAllowed } from './generation.js';
import type { RelayContext } from './relay-context.js';
import type { RequestState } from './request-state.js';
import { sendJson } from './response-writer.js';
import { headerValue, sendAttempt } from './upstream-attempt.js';

/**
 * `POST /v1/messages/count_tokens`: asked of an Anthropic upstream when the model is served by one;
 * otherwise (or when that upstream fails) counted locally with the documented approximation. Not
 * billed: no usage event is written for it.
 */
export async function handleCountTokens(
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
  if (!Array.isArray(body.messages)) {
    throw new InvalidRequestError("'messages' is required and must be an array.", { param: 'messages' });
  }
  checkModelAllowed(key, model);
  if (!ctx.routing.serves(model, key.group)) throw new ModelNotFoundError(model);
  state.modelLabel = model;
  // Validates the body the way /v1/messages would (max_tokens is not part of a count request).
  const canonical = CLIENT_CODECS['anthropic-messages'].parseRequest({ max_tokens: 1, ...body }, {});

  const candidates = await ctx.routing.candidates(model, key.group, async () => 0);
  for (const c of candidates.slice(0, ctx.options.maxAttempts)) {
    const provider = providerFor(c.channel.provider);
    if (!provider.supports('count_tokens', c.channel, c.upstreamModel)) continue;
    state.channelId = c.channel.id;
    state.accountId = c.account.id;
    const prepared = await provider.prepare(
      {
        channel: c.channel,
        account: c.account,
        operation: 'count_tokens',
        format: 'anthropic-messages',
        model: c.upstreamModel,
        stream: false,
        body: { ...body, model: c.upstreamModel },
        clientHeaders: {
          ...(headerValue(req.headers['anthropic-version']) === undefined
            ? {}
            : { 'anthropic-version': headerValue(req.headers['anthropic-version'])! }),
          ...(headerValue(req.headers['anthropic-beta']) === undefined
            ? {}
            : { 'anthropic-beta': headerValue(req.headers['anthropic-beta'])! }),
        },
      },
      { now: Date.now, postForm: (url, form, signal) => ctx.upstream.postForm(url, form, signal) },
    );
    const sent = await sendAttempt(ctx, c, prepared, state);
    if (sent === null) return;
    if (sent instanceof UpstreamError) continue;
    const text = await sent.up.body.text();
    if (sent.up.status >= 400) {
      res.writeHead(sent.up.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  sendJson(res, 200, { input_tokens: countTokensEstimate(canonical) });
}

/**
 * Gemini's `POST /v1beta/models/{model}:countTokens` (Gemini CLI asks it to manage its context):
 * counted locally with the same approximation as count_tokens, from `contents` or a whole
 * `generateContentRequest`. Not billed.
 */
export async function handleGeminiCountTokens(
  ctx: RelayContext,
  req: IncomingMessage,
  res: ServerResponse,
  state: RequestState,
  model: string,
  queryKey: string | null,
): Promise<void> {
  const key = ctx.auth.authenticate(req.headers, Date.now(), queryKey);
  state.key = key;
  const body = parseJsonObject(await readBody(req, ctx.options.bodyLimitBytes));
  checkModelAllowed(key, model);
  if (!ctx.routing.serves(model, key.group)) throw new ModelNotFoundError(model);
  state.modelLabel = model;
  const inner = body.generateContentRequest;
  const request =
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? (inner as Record<string, unknown>)
      : { contents: body.contents };
  if (!Array.isArray(request.contents)) {
    throw new InvalidRequestError("'contents' is required and must be an array.", { param: 'contents' });
  }
  const canonical = CLIENT_CODECS.gemini.parseRequest(request, { model, stream: false });
  sendJson(res, 200, { totalTokens: countTokensEstimate(canonical) });
}
