import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { defaultChannelRouting, API_KEY_ACCOUNT } from '@switchyard/core';
import { GatewayError, defaultBaseUrl, type Channel, type ProviderId } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { ProviderDeps } from './provider-adapter.js';
import { CLIENT_CODECS, UPSTREAM_CODECS, type ClientFormat } from './formats/registry.js';
import { createVertexProvider } from './providers/vertex/provider.js';
import { PROVIDERS } from './registry.js';

/**
 * Golden fixtures for every client format × provider cell, in provider-pair-fixtures/: the exact
 * upstream request (method, URL, headers, body) each provider sends for each client format's
 * documented tool-loop request, envelope included (Azure deployment URLs, Anthropic headers,
 * Bedrock's InvokeModel body and SigV4 signature at a fixed clock, Vertex publisher paths and its
 * bearer token). Same-format cells are the relay's passthrough: the client's body with only the
 * model rewritten. The per-format goldens beside formats/ cover answers and streams.
 */
const read = (path: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as Record<string, unknown>;

const gemini = read('./formats/gemini/fixtures/function-calling.json') as {
  model: string;
  geminiRequest: Record<string, unknown>;
};
const CLIENT_REQUESTS: Record<ClientFormat, { body: Record<string, unknown>; model?: string }> = {
  'openai-chat': { body: read('./formats/openai-chat/fixtures/client-request-tool-loop.json') },
  // Without its `text.format` JSON schema, which Anthropic and Converse refuse (formats/pair-fixtures
  // records those refusals), so that every provider's envelope shows here.
  'openai-responses': {
    body: withoutKey(read('./formats/openai-responses/fixtures/client-request-tool-loop.json'), 'text'),
  },
  'anthropic-messages': { body: read('./formats/anthropic-messages/fixtures/tool-use.client-request.json') },
  gemini: { body: gemini.geminiRequest, model: gemini.model },
};

function withoutKey(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...o };
  delete copy[key];
  return copy;
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const SERVICE_ACCOUNT = JSON.stringify({
  type: 'service_account',
  project_id: 'golden-project',
  client_email: 'golden@golden-project.iam.gserviceaccount.com',
  private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
  token_uri: 'https://oauth2.googleapis.com/token',
});

interface Cell {
  name: string;
  provider: ProviderId;
  model: string;
  options?: Record<string, string>;
  baseUrl?: string;
  apiKey: string;
}

const CELLS: Cell[] = [
  { name: 'openai', provider: 'openai', model: 'gpt-4.1', apiKey: 'sk-golden' },
  {
    name: 'azure-openai',
    provider: 'azure-openai',
    model: 'my-deployment',
    baseUrl: 'https://contoso.openai.azure.com',
    options: { api_version: '2024-10-21' },
    apiKey: 'azure-golden',
  },
  { name: 'anthropic', provider: 'anthropic', model: 'claude-sonnet-4-5', apiKey: 'sk-ant-golden' },
  { name: 'gemini', provider: 'gemini', model: 'gemini-2.5-flash', apiKey: 'AIza-golden' },
  {
    name: 'bedrock-anthropic',
    provider: 'bedrock',
    model: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
    options: { region: 'us-west-2' },
    apiKey: 'AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  },
  {
    name: 'bedrock-converse',
    provider: 'bedrock',
    model: 'amazon.nova-pro-v1:0',
    options: { region: 'us-west-2' },
    apiKey: 'AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  },
  { name: 'vertex-gemini', provider: 'vertex', model: 'gemini-2.5-pro', apiKey: SERVICE_ACCOUNT },
  {
    name: 'vertex-anthropic',
    provider: 'vertex',
    model: 'claude-sonnet-4-5@20250929',
    apiKey: SERVICE_ACCOUNT,
  },
  { name: 'deepseek', provider: 'deepseek', model: 'deepseek-chat', apiKey: 'sk-golden' },
];

function channelOf(cell: Cell): Channel {
  const options = cell.options ?? {};
  return {
    id: 1,
    name: cell.name,
    provider: cell.provider,
    baseUrl: cell.baseUrl ?? defaultBaseUrl(cell.provider, options)!,
    options,
    models: [cell.model],
    modelMapping: {},
    priority: 0,
    weight: 1,
    groups: ['default'],
    ...defaultChannelRouting(),
    enabled: true,
    accounts: [{ id: 1, channelId: 1, name: 'a', enabled: true, apiKey: cell.apiKey, ...API_KEY_ACCOUNT }],
  };
}

/** A fixed clock (SigV4 dates) and a token endpoint that always answers the same token. */
const DEPS: ProviderDeps = {
  now: () => Date.parse('2026-12-01T00:00:00Z'),
  postForm: async () => ({
    status: 200,
    text: JSON.stringify({ access_token: 'ya29.golden', expires_in: 3600 }),
  }),
};

describe.each(Object.keys(CLIENT_CODECS) as ClientFormat[])('client %s', (client) => {
  it.each(CELLS.map((c) => [c.name, c] as const))(
    'when the documented tool-loop request goes to %s, then the upstream request is the golden one',
    async (_name, cell) => {
      const channel = channelOf(cell);
      // A fresh Vertex adapter per cell, so the token cache of one cell cannot leak into another.
      const provider = cell.provider === 'vertex' ? createVertexProvider() : PROVIDERS[cell.provider];
      const format = provider.chatFormat(channel, cell.model);
      const { body, model } = CLIENT_REQUESTS[client];
      let out: unknown;
      try {
        let upBody: Record<string, unknown>;
        if (format === client && provider.passthrough(format)) {
          upBody = structuredClone(body);
          if (format !== 'gemini') upBody.model = cell.model;
        } else {
          const canonical = CLIENT_CODECS[client].parseRequest(
            structuredClone(body),
            model === undefined ? {} : { model },
          );
          upBody = UPSTREAM_CODECS[format as keyof typeof UPSTREAM_CODECS].buildRequest(
            canonical,
            cell.model,
          );
        }
        const prepared = await provider.prepare(
          {
            channel,
            account: channel.accounts[0]!,
            operation: 'chat',
            format,
            model: cell.model,
            stream: false,
            body: upBody,
            clientHeaders: {},
          },
          DEPS,
        );
        out = {
          format,
          passthrough: format === client && provider.passthrough(format),
          method: prepared.method,
          url: `${prepared.origin}${prepared.path}`,
          headers: prepared.headers,
          body: JSON.parse(prepared.body) as unknown,
        };
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
        out = {
          format,
          refused: { status: err.status, code: err.code, param: err.param, message: err.message },
        };
      }
      await expect(`${JSON.stringify(out, null, 2)}\n`).toMatchFileSnapshot(
        `./provider-pair-fixtures/${client}__${cell.name}.json`,
      );
    },
  );
});
