import { PROVIDER_CATALOG } from '@switchyard/core';
import type { ProviderAdapter, UpstreamOperation } from '../../provider-adapter.js';
import { parseBaseUrl, stripSuffix } from '../shared/base-url.js';
import { unsupportedFormat, unsupportedOperation } from '../shared/errors.js';
import { channelOption } from '../shared/options.js';
import { createSseUnframer } from '../shared/sse-unframer.js';

const OPERATIONS: Partial<Record<UpstreamOperation, { method: 'GET' | 'POST'; path: string }>> = {
  chat: { method: 'POST', path: '/v1/messages' },
  count_tokens: { method: 'POST', path: '/v1/messages/count_tokens' },
  models: { method: 'GET', path: '/v1/models' },
};

const DEFAULT_VERSION = PROVIDER_CATALOG.anthropic.options.anthropic_version?.default ?? '2023-06-01';

/**
 * Anthropic's Messages API. `base_url` is `https://api.anthropic.com`, with or without `/v1`.
 * `anthropic-version` is the client's when it sent one (it chose the semantics of its body), else the
 * channel's `anthropic_version` option; the client's `anthropic-beta` is forwarded as it is. OAuth
 * accounts (`authScheme: 'bearer'`) send their access token as `Authorization: Bearer` instead of
 * `x-api-key`.
 */
export const anthropicProvider: ProviderAdapter = {
  id: 'anthropic',
  chatFormat: () => 'anthropic-messages',
  passthrough: (format) => format === 'anthropic-messages',
  supports: (operation) => OPERATIONS[operation] !== undefined,
  async prepare(call) {
    const op = OPERATIONS[call.operation];
    if (op === undefined) throw unsupportedOperation('anthropic', call.operation);
    if (op.method === 'POST' && call.format !== 'anthropic-messages')
      throw unsupportedFormat('anthropic', call.format);
    const base = parseBaseUrl(call.channel);
    const headers: Record<string, string> = {
      ...(call.account.authScheme === 'bearer'
        ? { authorization: `Bearer ${call.account.apiKey}` }
        : { 'x-api-key': call.account.apiKey }),
      'anthropic-version':
        call.clientHeaders['anthropic-version'] ??
        channelOption(call.channel, 'anthropic_version') ??
        DEFAULT_VERSION,
    };
    const beta = call.clientHeaders['anthropic-beta'];
    if (beta !== undefined && beta !== '') headers['anthropic-beta'] = beta;
    if (op.method === 'POST') headers['content-type'] = 'application/json';
    return {
      origin: base.origin,
      path: `${stripSuffix(base.path, '/v1')}${op.path}${base.search}`,
      method: op.method,
      headers,
      body: op.method === 'POST' ? JSON.stringify(call.body) : '',
      framing: 'sse',
    };
  },
  createUnframer: () => createSseUnframer(),
};
