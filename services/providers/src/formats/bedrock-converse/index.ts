import type { UpstreamCodec } from '../../canonical/codec.js';
import { converseErrorMessage } from './errors.js';
import { buildConverseRequest } from './request.js';
import { converseUsageOf, parseConverseResponse } from './response.js';
import { ConverseStreamDecoder } from './stream.js';

/**
 * Bedrock's Converse API as an upstream (Bedrock models other than Anthropic's, which go through
 * InvokeModel in the Messages format). Images must be inline.
 */
export const bedrockConverseUpstreamCodec: UpstreamCodec = {
  format: 'bedrock-converse',
  buildRequest: (req) => ({ ...buildConverseRequest(req) }),
  parseResponse: parseConverseResponse,
  createStreamDecoder: () => new ConverseStreamDecoder(),
  errorMessage: converseErrorMessage,
  usageOf: converseUsageOf,
  needsInlineImages: true,
};
