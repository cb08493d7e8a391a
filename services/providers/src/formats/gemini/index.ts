import type { ClientCodec, UpstreamCodec } from '../../canonical/codec.js';
import { geminiErrorMessage, renderGeminiError } from './errors.js';
import { parseGeminiRequest } from './request.js';
import { renderGeminiResponse } from './response.js';
import { GeminiStreamEncoder } from './stream.js';
import { buildGeminiRequest } from './upstream-request.js';
import { geminiUsageOf, parseGeminiResponse } from './upstream-response.js';
import { GeminiStreamDecoder } from './upstream-stream.js';

/** The Gemini API as callers speak it (`models/{model}:generateContent` / `:streamGenerateContent`). */
export const geminiClientCodec: ClientCodec = {
  format: 'gemini',
  parseRequest: parseGeminiRequest,
  renderResponse: renderGeminiResponse,
  createStreamEncoder: (ctx) => new GeminiStreamEncoder(ctx),
  renderError: renderGeminiError,
};

/** The Gemini API as an upstream (AI Studio and Vertex); images must be inline. */
export const geminiUpstreamCodec: UpstreamCodec = {
  format: 'gemini',
  buildRequest: (req, upstreamModel) => ({ ...buildGeminiRequest(req, upstreamModel) }),
  parseResponse: parseGeminiResponse,
  createStreamDecoder: () => new GeminiStreamDecoder(),
  errorMessage: geminiErrorMessage,
  usageOf: geminiUsageOf,
  needsInlineImages: true,
};
