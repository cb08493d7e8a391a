import { PROVIDER_CATALOG } from '@switchyard/core';
import type { ProviderAdapter, UpstreamOperation } from '../../provider-adapter.js';
import { parseBaseUrl, stripSuffix } from '../shared/base-url.js';
import { unsupportedFormat, unsupportedOperation } from '../shared/errors.js';
import { channelOption } from '../shared/options.js';
import { encodeRfc3986 } from '../shared/path.js';
import { createSseUnframer } from '../shared/sse-unframer.js';

/** Operation → the path after `/openai/deployments/{deployment}` (or after `/openai/v1`). */
const OPERATIONS: Partial<Record<UpstreamOperation, string>> = {
  chat: '/chat/completions',
  embeddings: '/embeddings',
  completions: '/completions',
};

const DEFAULT_API_VERSION = PROVIDER_CATALOG['azure-openai'].options.api_version?.default ?? '2024-10-21';

/** A base URL whose path ends in `/openai/v1` addresses Azure's v1 API (OpenAI paths, model in the body). */
const V1_PATH = /\/openai\/v1$/i;

/**
 * Azure OpenAI. `base_url` is the resource endpoint (`https://NAME.openai.azure.com`) and the
 * upstream model is the deployment name: `{base}/openai/deployments/{deployment}/chat/completions?
 * api-version=...`. A base URL ending in `/openai/v1` uses Azure's v1 API instead: OpenAI paths under
 * it, the model in the body, no api-version (a query on the base URL, such as `?api-version=preview`,
 * is kept). Both authenticate with the `api-key` header.
 */
export const azureOpenAIProvider: ProviderAdapter = {
  id: 'azure-openai',
  chatFormat: () => 'openai-chat',
  passthrough: (format) => format === 'openai-chat',
  supports: (operation) => OPERATIONS[operation] !== undefined,
  async prepare(call) {
    const opPath = OPERATIONS[call.operation];
    if (opPath === undefined) throw unsupportedOperation('azure-openai', call.operation);
    if (call.format !== 'openai-chat') throw unsupportedFormat('azure-openai', call.format);
    const base = parseBaseUrl(call.channel);
    let path: string;
    if (V1_PATH.test(base.path)) {
      path = `${base.path}${opPath}${base.search}`;
    } else {
      const query = new URLSearchParams(base.search);
      query.set('api-version', channelOption(call.channel, 'api_version') ?? DEFAULT_API_VERSION);
      const resource = stripSuffix(base.path, '/openai');
      path = `${resource}/openai/deployments/${encodeRfc3986(call.model)}${opPath}?${query.toString()}`;
    }
    return {
      origin: base.origin,
      path,
      method: 'POST',
      headers: { 'api-key': call.account.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify(call.body),
      framing: 'sse',
    };
  },
  createUnframer: () => createSseUnframer(),
};
