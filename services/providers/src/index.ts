export type {
  ProviderAdapter,
  ProviderDeps,
  PreparedRequest,
  UpstreamCall,
  UpstreamTarget,
  UpstreamOperation,
  Unframer,
} from './provider-adapter.js';
export type * from './canonical/types.js';
export { WIRE_FORMATS, emptyUsage } from './canonical/types.js';
export type {
  ClientCodec,
  ClientRequestContext,
  FramedEvent,
  RenderContext,
  StreamDecoder,
  StreamEncoder,
  UpstreamCodec,
} from './canonical/codec.js';
export { PROVIDERS, providerFor } from './registry.js';
export { SseParser, type SseEvent } from './sse/sse-parser.js';
export { OpenAIChatStreamTap } from './formats/openai-chat/stream-tap.js';
export { readOpenAIUsage, type TokenUsage } from './formats/openai-chat/usage.js';
export { renderOpenAIError, type OpenAIErrorBody } from './formats/openai-chat/errors.js';
export {
  CLIENT_CODECS,
  UPSTREAM_CODECS,
  upstreamCodecFor,
  type ClientFormat,
  type UpstreamFormat,
} from './formats/registry.js';
export { countTokensEstimate } from './formats/anthropic-messages/index.js';
export { countPromptTokens } from './formats/anthropic-messages/count-tokens.js';
export {
  TOKENS_PER_IMAGE,
  approximateTokens,
  countTextTokens,
  countTextTokensSync,
  estimatePromptTokens,
  estimatePromptTokensSync,
  maxOutputTokens,
  preloadTokenizer,
  tokenizerFor,
  type PromptEstimate,
  type TokenizerName,
} from './tokens/index.js';
export { prefixSystemPrompt } from './formats/system-prompt-prefix.js';
