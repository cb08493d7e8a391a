import type { ClientCodec, UpstreamCodec } from '../../canonical/codec.js';
import { anthropicErrorMessage, renderAnthropicError } from './errors.js';
import { buildAnthropicRequest, parseAnthropicRequest } from './request.js';
import { anthropicUsageOf, parseAnthropicResponse, renderAnthropicResponse } from './response.js';
import { createAnthropicStreamDecoder, createAnthropicStreamEncoder } from './stream.js';

/** The Anthropic Messages format as the gateway's clients speak it (`POST /v1/messages`). */
export const anthropicClientCodec: ClientCodec = {
  format: 'anthropic-messages',
  parseRequest: parseAnthropicRequest,
  renderResponse: renderAnthropicResponse,
  createStreamEncoder: createAnthropicStreamEncoder,
  renderError: renderAnthropicError,
};

/** The Anthropic Messages format towards upstreams (Anthropic, and Anthropic models on Bedrock/Vertex). */
export const anthropicUpstreamCodec: UpstreamCodec = {
  format: 'anthropic-messages',
  buildRequest: buildAnthropicRequest,
  parseResponse: parseAnthropicResponse,
  createStreamDecoder: createAnthropicStreamDecoder,
  errorMessage: anthropicErrorMessage,
  usageOf: anthropicUsageOf,
  // Anthropic fetches `url` image sources itself.
  needsInlineImages: false,
};

export { countTokensEstimate } from './count-tokens.js';
export { anthropicErrorType, renderAnthropicError } from './errors.js';
export type { AnthropicErrorBody } from './errors.js';
export type { AnthropicMessage, AnthropicResponseBlock } from './response.js';
export type { AnthropicUsage } from './usage.js';
