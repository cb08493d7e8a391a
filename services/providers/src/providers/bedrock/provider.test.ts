import { createHash } from 'node:crypto';
import { defaultChannelRouting, API_KEY_ACCOUNT } from '@switchyard/core';
import type { Channel } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import type { ProviderDeps, UpstreamCall } from '../../provider-adapter.js';
import { bedrockProvider } from './provider.js';
import { signSigV4 } from './sigv4.js';

const NOW = Date.parse('2025-01-15T10:30:00Z');
const deps: ProviderDeps = {
  now: () => NOW,
  postForm: () => Promise.reject(new Error('Bedrock needs no token exchange')),
};
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

function channel(baseUrl: string, options: Record<string, string> = {}): Channel {
  return {
    id: 7,
    name: 'bedrock',
    provider: 'bedrock',
    baseUrl,
    options,
    models: [],
    modelMapping: {},
    priority: 0,
    weight: 1,
    groups: ['default'],
    ...defaultChannelRouting(),
    enabled: true,
    accounts: [],
  };
}

const anthropicBody = {
  model: 'claude-sonnet',
  max_tokens: 256,
  stream: false,
  messages: [{ role: 'user', content: 'Hello' }],
};
const converseBody = {
  messages: [{ role: 'user', content: [{ text: 'Hello' }] }],
  inferenceConfig: { maxTokens: 256 },
};

function call(
  over: Partial<UpstreamCall> & { baseUrl?: string; options?: Record<string, string> } = {},
): UpstreamCall {
  const { baseUrl, options, ...rest } = over;
  const ch = channel(baseUrl ?? 'https://bedrock-runtime.us-west-2.amazonaws.com', options);
  return {
    channel: ch,
    account: {
      id: 1,
      channelId: ch.id,
      name: 'a',
      enabled: true,
      apiKey: `AKIDEXAMPLE:${SECRET}`,
      ...API_KEY_ACCOUNT,
    },
    operation: 'chat',
    format: 'anthropic-messages',
    model: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
    stream: false,
    body: anthropicBody,
    clientHeaders: {},
    ...rest,
  };
}

describe('bedrock provider', () => {
  it.each([
    'anthropic.claude-3-5-sonnet-20240620-v1:0',
    'us.anthropic.claude-3-7-sonnet-20250219-v1:0',
    'eu.anthropic.claude-sonnet-4-20250514-v1:0',
    'apac.anthropic.claude-3-haiku-20240307-v1:0',
    'us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0',
    'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
    'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
    'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0',
  ])('when the model is the Anthropic model %s, then chat speaks anthropic-messages', (model) => {
    expect(bedrockProvider.chatFormat(channel(''), model)).toBe('anthropic-messages');
  });

  it.each([
    'amazon.nova-pro-v1:0',
    'us.amazon.nova-lite-v1:0',
    'meta.llama3-70b-instruct-v1:0',
    'mistral.mistral-large-2407-v1:0',
    'cohere.command-r-plus-v1:0',
  ])('when the model is %s, then chat speaks bedrock-converse', (model) => {
    expect(bedrockProvider.chatFormat(channel(''), model)).toBe('bedrock-converse');
  });

  it('when asked what it serves, then it is chat only and never a passthrough', () => {
    const ch = channel('https://bedrock-runtime.us-east-1.amazonaws.com');
    expect(bedrockProvider.supports('chat', ch, 'amazon.nova-pro-v1:0')).toBe(true);
    for (const op of ['models', 'embeddings', 'completions', 'count_tokens'] as const) {
      expect(bedrockProvider.supports(op, ch, 'amazon.nova-pro-v1:0')).toBe(false);
    }
    expect(bedrockProvider.passthrough('anthropic-messages')).toBe(false);
    expect(bedrockProvider.passthrough('bedrock-converse')).toBe(false);
  });

  it('when an Anthropic model is called without streaming, then InvokeModel gets the adapted body, signed', async () => {
    const p = await bedrockProvider.prepare(call(), deps);
    expect(p.origin).toBe('https://bedrock-runtime.us-west-2.amazonaws.com');
    expect(p.path).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke');
    expect(p.method).toBe('POST');
    expect(JSON.parse(p.body)).toEqual({
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Hello' }],
    });
    expect(p.headers['content-type']).toBe('application/json');
    expect(p.headers.accept).toBe('application/json');
    expect(p.headers.host).toBe('bedrock-runtime.us-west-2.amazonaws.com');
    expect(p.headers['x-amz-date']).toBe('20250115T103000Z');
    expect(p.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(p.body).digest('hex'));
    const expected = signSigV4(
      { method: 'POST', host: 'bedrock-runtime.us-west-2.amazonaws.com', path: p.path, body: p.body },
      {
        service: 'bedrock',
        region: 'us-west-2',
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: SECRET, sessionToken: null },
        now: NOW,
      },
    );
    expect(p.headers.authorization).toBe(expected.headers.authorization);
    expect(p.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20250115\/us-west-2\/bedrock\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    expect(p.headers['x-amz-security-token']).toBeUndefined();
  });

  it('when an Anthropic model streams with anthropic-beta, then the stream endpoint gets the betas in the body', async () => {
    const p = await bedrockProvider.prepare(
      call({
        stream: true,
        model: 'us.anthropic.claude-3-7-sonnet-20250219-v1:0',
        body: { ...anthropicBody, stream: true, anthropic_version: '2023-06-01' },
        clientHeaders: { 'anthropic-beta': 'token-efficient-tools-2025-02-19, output-128k-2025-02-19' },
      }),
      deps,
    );
    expect(p.path).toBe('/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/invoke-with-response-stream');
    expect(p.framing).toBe('aws-eventstream');
    expect(p.headers.accept).toBe('application/vnd.amazon.eventstream');
    expect(JSON.parse(p.body)).toEqual({
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Hello' }],
      anthropic_beta: ['token-efficient-tools-2025-02-19', 'output-128k-2025-02-19'],
    });
  });

  it('when another model is called, then Converse gets the codec body as it is', async () => {
    const base = { format: 'bedrock-converse' as const, model: 'amazon.nova-pro-v1:0', body: converseBody };
    const p = await bedrockProvider.prepare(call(base), deps);
    expect(p.path).toBe('/model/amazon.nova-pro-v1%3A0/converse');
    expect(p.body).toBe(JSON.stringify(converseBody));
    const s = await bedrockProvider.prepare(call({ ...base, stream: true }), deps);
    expect(s.path).toBe('/model/amazon.nova-pro-v1%3A0/converse-stream');
    expect(s.framing).toBe('aws-eventstream');
  });

  it('when the model is an ARN, then its slashes and colons are encoded into one path segment', async () => {
    const arn =
      'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0';
    const p = await bedrockProvider.prepare(call({ model: arn }), deps);
    expect(p.path).toBe(
      '/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-haiku-20241022-v1%3A0/invoke',
    );
  });

  it('when the region option is set, then it is the signing region whatever the host', async () => {
    const p = await bedrockProvider.prepare(call({ options: { region: 'eu-central-1' } }), deps);
    expect(p.headers.authorization).toContain('/20250115/eu-central-1/bedrock/aws4_request');
  });

  it('when no region option is set, then the region comes from the host, else us-east-1', async () => {
    const vpce = await bedrockProvider.prepare(
      call({ baseUrl: 'https://vpce-0abc-xyz.bedrock-runtime.ap-northeast-1.vpce.amazonaws.com' }),
      deps,
    );
    expect(vpce.headers.authorization).toContain('/ap-northeast-1/bedrock/');
    const proxy = await bedrockProvider.prepare(
      call({ baseUrl: 'https://bedrock-proxy.internal:8443/aws' }),
      deps,
    );
    expect(proxy.headers.authorization).toContain('/us-east-1/bedrock/');
    expect(proxy.origin).toBe('https://bedrock-proxy.internal:8443');
    expect(proxy.headers.host).toBe('bedrock-proxy.internal:8443');
    expect(proxy.path).toBe('/aws/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke');
  });

  it('when the credential has a session token, then it is sent and signed', async () => {
    const c = call();
    c.account = { ...c.account, apiKey: `AKIDEXAMPLE:${SECRET}:FwoGZXIvYXdzEXAMPLE` };
    const p = await bedrockProvider.prepare(c, deps);
    expect(p.headers['x-amz-security-token']).toBe('FwoGZXIvYXdzEXAMPLE');
    expect(p.headers.authorization).toContain(
      'SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,',
    );
  });

  it('when the credential is JSON, then its fields are used', async () => {
    const c = call();
    c.account = {
      ...c.account,
      apiKey: JSON.stringify({
        access_key_id: 'AKIAJSON',
        secret_access_key: SECRET,
        session_token: 'TOKEN',
      }),
    };
    const p = await bedrockProvider.prepare(c, deps);
    expect(p.headers.authorization).toContain('Credential=AKIAJSON/');
    expect(p.headers['x-amz-security-token']).toBe('TOKEN');
  });

  it('when the credential is malformed, then the error names the expected form and not the secret', async () => {
    const c = call();
    c.account = { ...c.account, apiKey: SECRET, ...API_KEY_ACCOUNT };
    const err = await bedrockProvider.prepare(c, deps).then(
      () => null,
      (e: unknown) => e as { code: string; retryable: boolean; message: string },
    );
    expect(err?.code).toBe('upstream_credential_invalid');
    expect(err?.retryable).toBe(true);
    expect(err?.message).not.toContain(SECRET);
    expect(err?.message).toContain('ACCESS_KEY_ID:SECRET_ACCESS_KEY');
  });

  it('when asked for an operation other than chat, then prepare refuses it', async () => {
    await expect(bedrockProvider.prepare(call({ operation: 'models' }), deps)).rejects.toMatchObject({
      code: 'unsupported_operation',
    });
  });
});
