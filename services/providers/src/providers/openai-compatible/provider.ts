import type { ProviderId } from '@switchyard/core';
import type { ProviderAdapter, UpstreamOperation } from '../../provider-adapter.js';
import { parseBaseUrl } from '../shared/base-url.js';
import { unsupportedFormat, unsupportedOperation } from '../shared/errors.js';
import { createSseUnframer } from '../shared/sse-unframer.js';

/** Providers that are OpenAI itself or a host speaking its API; they differ only in catalogue data. */
export type OpenAICompatibleId = Exclude<
  ProviderId,
  'azure-openai' | 'anthropic' | 'gemini' | 'bedrock' | 'vertex'
>;

/** Operation → method and the path appended to `base_url`. */
const OPERATIONS: Partial<Record<UpstreamOperation, { method: 'GET' | 'POST'; path: string }>> = {
  chat: { method: 'POST', path: '/chat/completions' },
  models: { method: 'GET', path: '/models' },
  embeddings: { method: 'POST', path: '/embeddings' },
  completions: { method: 'POST', path: '/completions' },
};

/**
 * The adapter for an OpenAI-compatible upstream. `base_url` is what one would hand the OpenAI SDK as
 * `baseURL` (for example `https://api.openai.com/v1`); operation paths are appended to it, and a
 * query string on it is kept. The credential is a bearer token; an empty one (a local Ollama or vLLM
 * without keys) sends no Authorization header.
 */
export function openAICompatibleProvider(id: OpenAICompatibleId): ProviderAdapter {
  return {
    id,
    chatFormat: () => 'openai-chat',
    passthrough: (format) => format === 'openai-chat',
    supports: (operation) => OPERATIONS[operation] !== undefined,
    async prepare(call) {
      const op = OPERATIONS[call.operation];
      if (op === undefined) throw unsupportedOperation(id, call.operation);
      if (op.method === 'POST' && call.format !== 'openai-chat') throw unsupportedFormat(id, call.format);
      const base = parseBaseUrl(call.channel);
      const headers: Record<string, string> = {};
      if (call.account.apiKey !== '') headers.authorization = `Bearer ${call.account.apiKey}`;
      if (op.method === 'POST') headers['content-type'] = 'application/json';
      return {
        origin: base.origin,
        path: `${base.path}${op.path}${base.search}`,
        method: op.method,
        headers,
        body: op.method === 'POST' ? JSON.stringify(call.body) : '',
        framing: 'sse',
      };
    },
    createUnframer: () => createSseUnframer(),
  };
}
