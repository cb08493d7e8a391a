import type { ProviderAdapter, UpstreamCall } from '../../provider-adapter.js';
import { anthropicBetas } from '../shared/anthropic-beta.js';
import { parseBaseUrl } from '../shared/base-url.js';
import { withoutKeys } from '../shared/body.js';
import { unsupportedFormat, unsupportedOperation } from '../shared/errors.js';
import { channelOption } from '../shared/options.js';
import { encodeRfc3986 } from '../shared/path.js';
import { parseAwsCredentials } from './credentials.js';
import { signSigV4 } from './sigv4.js';
import { createBedrockUnframer } from './unframer.js';

/** The InvokeModel body's version field for Anthropic models on Bedrock. */
const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';
const DEFAULT_REGION = 'us-east-1';

/**
 * AWS Bedrock runtime. Anthropic models (`anthropic.*`, or an inference profile such as
 * `us.anthropic.*`, or an ARN naming one) take the Anthropic Messages body through InvokeModel
 * (`/model/{id}/invoke`, `/invoke-with-response-stream`), without `model` and `stream` and with
 * Bedrock's `anthropic_version`; every other model speaks Converse (`/model/{id}/converse`,
 * `/converse-stream`). Requests are SigV4-signed (service `bedrock`); streams are AWS event streams.
 */
export const bedrockProvider: ProviderAdapter = {
  id: 'bedrock',
  chatFormat: (_channel, model) => (isAnthropicModel(model) ? 'anthropic-messages' : 'bedrock-converse'),
  passthrough: () => false,
  supports: (operation) => operation === 'chat',
  async prepare(call, deps) {
    if (call.operation !== 'chat') throw unsupportedOperation('bedrock', call.operation);
    const { action, body } = requestFor(call);
    const base = parseBaseUrl(call.channel);
    const path = `${base.path}/model/${encodeRfc3986(call.model)}/${action}${base.search}`;
    const credentials = parseAwsCredentials(call.account.apiKey);
    const region = channelOption(call.channel, 'region') ?? regionFromHost(base.hostname) ?? DEFAULT_REGION;
    const signed = signSigV4(
      { method: 'POST', host: base.host, path, body },
      { service: 'bedrock', region, credentials, now: deps.now() },
    );
    const headers: Record<string, string> = { ...signed.headers, 'content-type': 'application/json' };
    if (call.stream) {
      headers.accept = 'application/vnd.amazon.eventstream';
      headers['x-amzn-bedrock-accept'] = 'application/json';
    } else {
      headers.accept = 'application/json';
    }
    return { origin: base.origin, path, method: 'POST', headers, body, framing: 'aws-eventstream' };
  },
  createUnframer: (format) => createBedrockUnframer(format),
};

function requestFor(call: UpstreamCall): { action: string; body: string } {
  const format = call.format;
  if (format === 'anthropic-messages') {
    const body: Record<string, unknown> = {
      anthropic_version: BEDROCK_ANTHROPIC_VERSION,
      ...withoutKeys(call.body, ['model', 'stream', 'anthropic_version']),
    };
    const betas = anthropicBetas(call.clientHeaders);
    if (betas.length > 0) body.anthropic_beta = betas;
    return { action: call.stream ? 'invoke-with-response-stream' : 'invoke', body: JSON.stringify(body) };
  }
  if (format === 'bedrock-converse') {
    return { action: call.stream ? 'converse-stream' : 'converse', body: JSON.stringify(call.body) };
  }
  throw unsupportedFormat('bedrock', format);
}

/**
 * True for Anthropic model ids: `anthropic.*`, a cross-region inference profile (`us.anthropic.*`,
 * `eu.`, `apac.`, `us-gov.`, `global.`, ...), or an ARN whose resource part is one of those.
 */
export function isAnthropicModel(model: string): boolean {
  const id = model.startsWith('arn:') ? model.slice(model.lastIndexOf('/') + 1) : model;
  return /^(?:[a-z]{2,}(?:-[a-z]+)*\.)?anthropic\./.test(id);
}

/** The region of a bedrock-runtime endpoint host (also FIPS, VPC-endpoint and China hosts), or null. */
export function regionFromHost(hostname: string): string | null {
  const m = /(?:^|\.)bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/i.exec(
    hostname,
  );
  return m === null ? null : m[1]!.toLowerCase();
}
