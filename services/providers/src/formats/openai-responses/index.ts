import type { ClientCodec } from '../../canonical/codec.js';
import { renderOpenAIError } from '../openai-chat/errors.js';
import { parseResponsesRequest } from './request.js';
import { renderResponsesResponse } from './response.js';
import { createResponsesStreamEncoder } from './stream.js';

/** OpenAI's Responses API as a callers' wire format (`POST /v1/responses`), stateless. */
export const openaiResponsesClientCodec: ClientCodec = {
  format: 'openai-responses',
  parseRequest: parseResponsesRequest,
  renderResponse: renderResponsesResponse,
  createStreamEncoder: createResponsesStreamEncoder,
  renderError: renderOpenAIError,
};
