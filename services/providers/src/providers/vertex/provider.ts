import { createHash } from 'node:crypto';
import type { ProviderAdapter, ProviderDeps, UpstreamCall } from '../../provider-adapter.js';
import { parseBaseUrl, misconfigured, stripSuffix } from '../shared/base-url.js';
import { withoutKeys } from '../shared/body.js';
import { unsupportedFormat, unsupportedOperation } from '../shared/errors.js';
import { channelOption } from '../shared/options.js';
import { encodeRfc3986, modelSegment } from '../shared/path.js';
import { createSseUnframer } from '../shared/sse-unframer.js';
import { generateVerb } from '../gemini/generate-verb.js';
import { exchangeServiceAccount } from './access-token.js';
import { parseServiceAccount, type ServiceAccountKey } from './service-account.js';
import { TokenCache } from './token-cache.js';

/** The body's version field for Anthropic models on Vertex. */
const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';
const DEFAULT_LOCATION = 'us-central1';
const DEFAULT_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/**
 * Google Vertex AI with a service-account key. Claude models go to Anthropic's publisher endpoint
 * (`:rawPredict`, `:streamRawPredict`) with the Messages body without `model` and with Vertex's
 * `anthropic_version`; other models to Google's (`:generateContent`, `:streamGenerateContent?alt=sse`)
 * with the Gemini body. `base_url` is `https://{location}-aiplatform.googleapis.com` (with or without
 * `/v1`); project and location come from the channel options or the key. Each adapter instance keeps
 * its own access-token cache.
 */
export function createVertexProvider(): ProviderAdapter {
  const tokens = new TokenCache();

  function accessToken(call: UpstreamCall, key: ServiceAccountKey, deps: ProviderDeps): Promise<string> {
    const tokenUrl = channelOption(call.channel, 'token_url') ?? key.tokenUri ?? DEFAULT_TOKEN_URL;
    const version = createHash('sha256')
      .update(call.account.apiKey)
      .update('\n')
      .update(tokenUrl)
      .digest('hex');
    return tokens.get(call.account.id, version, deps.now(), () =>
      exchangeServiceAccount(key, tokenUrl, deps),
    );
  }

  return {
    id: 'vertex',
    chatFormat: (_channel, model) => (isClaudeModel(model) ? 'anthropic-messages' : 'gemini'),
    passthrough: (format) => format === 'gemini',
    supports: (operation) => operation === 'chat',
    async prepare(call, deps) {
      if (call.operation !== 'chat') throw unsupportedOperation('vertex', call.operation);
      if (call.format !== 'anthropic-messages' && call.format !== 'gemini') {
        throw unsupportedFormat('vertex', call.format);
      }
      const base = parseBaseUrl(call.channel);
      const key = parseServiceAccount(call.account.apiKey);
      const project = channelOption(call.channel, 'project_id') ?? key.projectId;
      if (project === null) {
        throw misconfigured(call.channel, 'needs a project_id (option or service-account key)');
      }
      const token = await accessToken(call, key, deps);
      const location = channelOption(call.channel, 'location') ?? DEFAULT_LOCATION;
      const prefix = `${stripSuffix(base.path, '/v1')}/v1/projects/${encodeRfc3986(project)}/locations/${encodeRfc3986(location)}/publishers`;
      const headers: Record<string, string> = {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
      };
      let path: string;
      let body: Record<string, unknown>;
      if (call.format === 'anthropic-messages') {
        const verb = call.stream ? 'streamRawPredict' : 'rawPredict';
        path = `${prefix}/anthropic/models/${modelSegment(call.model)}:${verb}${base.search}`;
        body = {
          anthropic_version: VERTEX_ANTHROPIC_VERSION,
          ...withoutKeys(call.body, ['model', 'anthropic_version']),
        };
        const beta = call.clientHeaders['anthropic-beta'];
        if (beta !== undefined && beta !== '') headers['anthropic-beta'] = beta;
      } else {
        path = `${prefix}/google/models/${modelSegment(call.model)}${generateVerb(call.stream, base.search)}`;
        body = withoutKeys(call.body, ['model']);
      }
      return {
        origin: base.origin,
        path,
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        framing: 'sse',
      };
    },
    createUnframer: () => createSseUnframer(),
  };
}

/** Anthropic's models on Vertex are named `claude-...` (optionally `@version`). */
export function isClaudeModel(model: string): boolean {
  return model.startsWith('claude');
}

export const vertexProvider: ProviderAdapter = createVertexProvider();
