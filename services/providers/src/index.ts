export type { ProviderAdapter, UpstreamTarget, UpstreamOperation } from './provider-adapter.js';
export { PROVIDERS, providerFor } from './registry.js';
export { SseParser, type SseEvent } from './sse/sse-parser.js';
export { OpenAIChatStreamTap } from './openai/stream.js';
export { readOpenAIUsage, type TokenUsage } from './openai/usage.js';
export { renderOpenAIError, type OpenAIErrorBody } from './openai/errors.js';
