export { MockUpstream, startMockUpstream } from './mock-upstream.js';
export type { MockUpstreamOptions } from './mock-upstream-options.js';
export type { MockFaults } from './mock-faults.js';
export { parseMockFaults, resolveFaults } from './mock-faults.js';
export type { RecordedRequest } from './recorded-request.js';
export {
  MOCK_ACCESS_TOKEN_PREFIX,
  MOCK_REFRESH_TOKEN_PREFIX,
  MockOAuthServer,
  OAUTH_PATH_PREFIX,
} from './oauth-server.js';
export type { MockTokenSet, OAuthTokenRequestRecord } from './oauth-server.js';
export {
  DEFAULT_CHUNKS,
  ECHO_PREFIX,
  MAX_CONTENT_CHARS,
  REASONING_PREFIX,
  charCount,
  expectedCompletion,
  promptTokensOf,
  reasoningSignature,
  splitIntoChunks,
  textOfContent,
} from './deterministic-completion.js';
export type {
  ExpectedCompletion,
  ExpectedReasoning,
  ExpectedStopReason,
  ExpectedToolCall,
} from './deterministic-completion.js';
export { reasoningEnabled, viewConversation } from './conversation-view.js';
export type { ConversationTurn, ConversationView, ToolView } from './conversation-view.js';
export { describeImage, imageOfPart } from './image-input.js';
export type { ImageInput } from './image-input.js';
export {
  anthropicStopReason,
  anthropicUsage,
  cachedTokensFor,
  converseUsage,
  geminiFinishReason,
  geminiUsageMetadata,
  openaiFinishReason,
  openaiUsage,
} from './expected-wire-fields.js';
export { anthropicMessage, anthropicStreamEvents } from './anthropic-answer.js';
export type { AnthropicAnswerOptions, AnthropicStreamEvent } from './anthropic-answer.js';
export { geminiResponse, geminiStreamChunks } from './gemini-answer.js';
export type { GeminiAnswerOptions, GeminiStreamChunk } from './gemini-answer.js';
export { converseResponse, converseStreamEvents } from './converse-answer.js';
export type { ConverseAnswerOptions, ConverseStreamEvent } from './converse-answer.js';
export { CACHED_TOKENS_HEADER } from './cached-tokens.js';
export { EMBEDDING_DIMENSIONS, expectedEmbedding } from './deterministic-embedding.js';
export { MOCK_MODELS } from './models.js';
export { MOCK_GEMINI_MODELS } from './gemini-models.js';
export { errorBody } from './wire-errors.js';
export type { WireShape } from './wire-errors.js';
export { encodeEventMessage, encodeEventStreamMessage } from './aws-event-stream.js';
export {
  canonicalQuery,
  canonicalRequestOf,
  canonicalUri,
  sha256Hex,
  sigV4Signature,
  uriEncode,
  verifySigV4,
} from './sigv4-verifier.js';
export type { AwsCredentials, SignedRequest, SigV4Result } from './sigv4-verifier.js';
export { verifyRs256Jwt } from './rs256-jwt.js';
export type { VerifiedJwt } from './rs256-jwt.js';
export {
  CLOUD_PLATFORM_SCOPE,
  JWT_BEARER_GRANT,
  MOCK_CLIENT_EMAIL,
  MOCK_PROJECT_ID,
} from './google-token-issuer.js';
export type { GoogleServiceAccount } from './google-token-issuer.js';
export { BEDROCK_ANTHROPIC_VERSION } from './bedrock-invoke.js';
export { VERTEX_ANTHROPIC_VERSION } from './vertex-anthropic.js';
export { runMockUpstreamCli } from './run-mock-upstream-cli.js';
export type { MockUpstreamCliIo } from './run-mock-upstream-cli.js';
export {
  DEFAULT_CLI_HOST,
  DEFAULT_CLI_PORT,
  MOCK_UPSTREAM_USAGE,
  parseMockUpstreamArgs,
} from './cli-args.js';
export type { MockUpstreamCliArgs } from './cli-args.js';
export { ForwardProxy, startForwardProxy } from './forward-proxy.js';
export type { ForwardProxyAuth, ForwardProxyConnection, ForwardProxyOptions } from './forward-proxy.js';
export { MOCK_CODE_ASSIST_PROJECT } from './code-assist.js';
