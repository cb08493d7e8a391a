import type { ClientCodec, UpstreamCodec } from '../../canonical/codec.js';
import { openaiErrorMessage, renderOpenAIError } from './errors.js';
import { buildChatRequest, parseChatRequest } from './request.js';
import { chatUsageOf, parseChatResponse, renderChatResponse } from './response.js';
import { createChatStreamDecoder, createChatStreamEncoder } from './stream.js';

/** OpenAI Chat Completions as the callers' wire format (`POST /v1/chat/completions`). */
export const openaiChatClientCodec: ClientCodec = {
  format: 'openai-chat',
  parseRequest: parseChatRequest,
  renderResponse: renderChatResponse,
  createStreamEncoder: createChatStreamEncoder,
  renderError: renderOpenAIError,
};

/** OpenAI Chat Completions as an upstream's wire format (OpenAI and every OpenAI-compatible host). */
export const openaiChatUpstreamCodec: UpstreamCodec = {
  format: 'openai-chat',
  buildRequest: buildChatRequest,
  parseResponse: parseChatResponse,
  createStreamDecoder: createChatStreamDecoder,
  errorMessage: openaiErrorMessage,
  usageOf: chatUsageOf,
  needsInlineImages: false,
};
