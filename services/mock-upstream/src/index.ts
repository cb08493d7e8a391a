export { MockUpstream, startMockUpstream } from './mock-upstream.js';
export type { MockUpstreamOptions } from './mock-upstream-options.js';
export type { MockFaults } from './mock-faults.js';
export { parseMockFaults, resolveFaults } from './mock-faults.js';
export type { RecordedRequest } from './recorded-request.js';
export {
  DEFAULT_CHUNKS,
  ECHO_PREFIX,
  MAX_CONTENT_CHARS,
  charCount,
  expectedCompletion,
  promptTokensOf,
  splitIntoChunks,
  textOfContent,
} from './deterministic-completion.js';
export type { ExpectedCompletion, ExpectedToolCall } from './deterministic-completion.js';
export { EMBEDDING_DIMENSIONS, expectedEmbedding } from './deterministic-embedding.js';
export { MOCK_MODELS } from './models.js';
export { errorBody } from './wire-errors.js';
export type { WireShape } from './wire-errors.js';
export { runMockUpstreamCli } from './run-mock-upstream-cli.js';
export type { MockUpstreamCliIo } from './run-mock-upstream-cli.js';
export {
  DEFAULT_CLI_HOST,
  DEFAULT_CLI_PORT,
  MOCK_UPSTREAM_USAGE,
  parseMockUpstreamArgs,
} from './cli-args.js';
export type { MockUpstreamCliArgs } from './cli-args.js';
