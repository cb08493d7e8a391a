import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidRequestError, UpstreamError } from '@switchyard/core';
import { CLIENT_CODECS, countPromptTokens, providerFor } from '@switchyard/providers';
import { admitModelRequest, forwardedHeaders } from './model-admission.js';
import type { RelayContext } from './relay-context.js';
import type { RequestState } from './request-state.js';
import { sendJson } from './response-writer.js';
import { providerDeps, sendAttempt } from './upstream-attempt.js';

/**
 * `POST /v1/messages/count_tokens`: asked of an Anthropic upstream when the model is served by one;
 * otherwise (or when that upstream fails) counted locally with the tokenizer of the model the first
 * candidate serves it as (exact for OpenAI models, the documented approximation for others; see
 * CONVERSION.md, "Token counting"). Not billed: no usage event is written for it.
 */
export async function handleCountTokens(
  ctx: RelayContext,
  req: IncomingMessage,
  res: ServerResponse,
  state: RequestState,
): Promise<void> {
  const { key, body, model } = await admitModelRequest(ctx, req, res, state, {
    validate: (b) => {
      if (!Array.isArray(b.messages)) {
        throw new InvalidRequestError("'messages' is required and must be an array.", { param: 'messages' });
      }
    },
  });
  // Validates the body the way /v1/messages would (max_tokens is not part of a count request).
  const canonical = CLIENT_CODECS['anthropic-messages'].parseRequest({ max_tokens: 1, ...body }, {});

  const candidates = await ctx.routing.candidates(model, key, { accountOffset: async () => 0 });
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
        clientHeaders: forwardedHeaders(req),
      },
      providerDeps(ctx),
    );
    const sent = await sendAttempt(ctx, c, prepared, state);
    if (sent === null) return;
    if (sent instanceof UpstreamError) continue;
    // The upstream's count, or its verdict on the request (a 4xx), relayed as it is.
    const text = await sent.up.body.text();
    res.writeHead(sent.up.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
    return;
  }
  // An alias counts with the tokenizer of the model it resolves to.
  const counted = { ...canonical, model: candidates[0]?.upstreamModel ?? model };
  sendJson(res, 200, { input_tokens: await countPromptTokens(counted) });
}

/**
 * Gemini's `POST /v1beta/models/{model}:countTokens` (Gemini CLI asks it to manage its context):
 * counted locally with the model's tokenizer as count_tokens is, from `contents` or a whole
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
  const { body } = await admitModelRequest(ctx, req, res, state, { pathModel: model, queryKey });
  const inner = body.generateContentRequest;
  const request =
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? (inner as Record<string, unknown>)
      : { contents: body.contents };
  if (!Array.isArray(request.contents)) {
    throw new InvalidRequestError("'contents' is required and must be an array.", { param: 'contents' });
  }
  const canonical = CLIENT_CODECS.gemini.parseRequest(request, { model, stream: false });
  sendJson(res, 200, { totalTokens: await countPromptTokens(canonical) });
}
