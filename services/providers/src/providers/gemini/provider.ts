import type { ProviderAdapter, UpstreamCall } from '../../provider-adapter.js';
import { parseBaseUrl, stripSuffix } from '../shared/base-url.js';
import { unsupportedFormat, unsupportedOperation } from '../shared/errors.js';
import { modelSegment } from '../shared/path.js';
import { withoutKeys } from '../shared/body.js';
import { createSseUnframer } from '../shared/sse-unframer.js';
import { generateVerb } from './generate-verb.js';

/**
 * Google AI Studio's Gemini API. `base_url` is `https://generativelanguage.googleapis.com`, with or
 * without `/v1beta`. The model and streaming live in the URL (`models/{model}:generateContent`, or
 * `:streamGenerateContent?alt=sse`), so the body carries no `model`. The key goes in `x-goog-api-key`;
 * an OAuth account's access token (`authScheme: 'bearer'`) goes in `Authorization: Bearer` instead.
 */
export const geminiProvider: ProviderAdapter = {
  id: 'gemini',
  chatFormat: () => 'gemini',
  passthrough: (format) => format === 'gemini',
  supports: (operation) => operation === 'chat' || operation === 'models',
  async prepare(call) {
    const base = parseBaseUrl(call.channel);
    const root = stripSuffix(base.path, '/v1beta');
    const headers: Record<string, string> =
      call.account.authScheme === 'bearer'
        ? { authorization: `Bearer ${call.account.apiKey}` }
        : { 'x-goog-api-key': call.account.apiKey };
    if (call.operation === 'models') {
      return {
        origin: base.origin,
        path: `${root}/v1beta/models${base.search}`,
        method: 'GET',
        headers,
        body: '',
        framing: 'sse',
      };
    }
    if (call.operation !== 'chat') throw unsupportedOperation('gemini', call.operation);
    if (call.format !== 'gemini') throw unsupportedFormat('gemini', call.format);
    headers['content-type'] = 'application/json';
    return {
      origin: base.origin,
      path: `${root}/v1beta/models/${geminiModel(call)}${generateVerb(call.stream, base.search)}`,
      method: 'POST',
      headers,
      // The URL names the model; a stray `model` in the body would conflict with it.
      body: JSON.stringify(withoutKeys(call.body, ['model'])),
      framing: 'sse',
    };
  },
  createUnframer: () => createSseUnframer(),
};

/** The model as a path segment; a `models/` resource-name prefix is accepted and dropped. */
function geminiModel(call: UpstreamCall): string {
  return modelSegment(call.model.replace(/^models\//, ''));
}
